using System.Globalization;
using Siov.Fast.Platforms;

namespace Siov.Fast.Cli;

/// <summary>
/// What <c>--dmesg</c> warns about. A boot log is mostly lines that are not about DMAR, and the parser
/// ignores them, so <c>siov</c> does not count those; it warns (exit code unchanged) when
/// <list type="bullet">
/// <item>the file yields nothing usable: no <c>DMAR: dmarN: reg_base_addr ... cap ... ecap ...</c> and no
/// <c>DMAR: Host address width N</c> line (naming how many lines it read, none understood);</item>
/// <item>lines name <c>reg_base_addr</c> or <c>Host address width</c> but cannot be read (a cut or edited line),
/// naming how many and quoting the first;</item>
/// <item>a unit line's register base matches no DRHD unit of the DMAR table (a log of another machine).</item>
/// </list>
/// </summary>
internal static class BootLogCheck
{
    /// <summary>The warnings for a boot log, each one line without the "siov: warning: PATH: " prefix.</summary>
    /// <param name="text">The boot log text.</param>
    /// <param name="log">What the parser read from it.</param>
    /// <param name="platform">The platform built with it.</param>
    /// <returns>The warnings; empty for a log that gave what it could.</returns>
    public static IReadOnlyList<string> Warnings(string text, DmarBootLog log, PlatformDescription platform)
    {
        var warnings = new List<string>();
        string[] lines = text.Split('\n');
        int nonEmpty = lines.Count(l => !string.IsNullOrWhiteSpace(l));
        int notUnderstood = 0, first = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            if (!lines[i].Contains("reg_base_addr", StringComparison.Ordinal) && !lines[i].Contains("Host address width", StringComparison.Ordinal))
                continue;
            if (Understood(lines[i]))
                continue;
            if (notUnderstood++ == 0)
                first = i;
        }
        if (notUnderstood > 0)
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"{notUnderstood} DMAR line(s) not understood (expected 'DMAR: dmarN: reg_base_addr HEX ver N:N cap HEX ecap HEX' or 'DMAR: Host address width N'), the first at line {first + 1}: {Quote(lines[first])}"));
        else if (log.Units.IsEmpty && log.HostAddressWidth is null)
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"{nonEmpty} line(s) not understood: none is a DMAR boot-log line ('DMAR: dmarN: reg_base_addr ...' or 'DMAR: Host address width N'); the units keep the default profile"));
        foreach (DmarUnitRegisters unit in log.Units)
            if (platform.Dmar is not null && !platform.Units.Any(u => u.RegisterBase == unit.RegisterBase))
                warnings.Add(string.Create(CultureInfo.InvariantCulture, $"{unit.Name} reg_base_addr 0x{unit.RegisterBase:x} matches no DRHD unit of the DMAR table (a boot log of another machine?)"));
        return warnings;
    }

    private static bool Understood(string line)
    {
        try
        {
            DmarBootLog one = DmarBootLog.Parse(line);
            return !one.Units.IsEmpty || one.HostAddressWidth is not null;
        }
        catch (IommuException)
        {
            return false;
        }
    }

    private static string Quote(string line)
    {
        string trimmed = line.TrimEnd('\r');
        return "'" + TerminalText.Escape(trimmed.Length <= 80 ? trimmed : trimmed[..80]) + (trimmed.Length > 80 ? "'..." : "'");
    }
}
