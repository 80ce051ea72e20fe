using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Siov.Fast.Platforms;

/// <summary>The DMAR lines of a Linux boot log (dmesg): host address width and each unit's registers.</summary>
/// <param name="HostAddressWidth">From <c>DMAR: Host address width N</c>; null when absent.</param>
/// <param name="Units">One entry per <c>reg_base_addr</c> line.</param>
public sealed partial record DmarBootLog(int? HostAddressWidth, ImmutableArray<DmarUnitRegisters> Units)
{
    /// <summary>Reads the DMAR lines of a boot log; other lines are ignored (a log without them gives an empty result).</summary>
    /// <param name="text">dmesg or journal text; timestamps and prefixes before "DMAR:" are allowed.</param>
    /// <returns>The lines found.</returns>
    public static DmarBootLog Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int? haw = null;
        var units = ImmutableArray.CreateBuilder<DmarUnitRegisters>();
        foreach (string line in text.Split('\n'))
        {
            Match m = UnitLine().Match(line);
            if (m.Success)
            {
                units.Add(new DmarUnitRegisters(m.Groups[1].Value, HexU64(m.Groups[2].Value),
                    int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture),
                    HexU64(m.Groups[5].Value), HexU64(m.Groups[6].Value)));
                continue;
            }
            Match w = WidthLine().Match(line);
            if (w.Success)
                haw = int.Parse(w.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        return new DmarBootLog(haw, units.ToImmutable());
    }

    private static ulong HexU64(string text)
    {
        if (!ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value))
            Throw.Iommu(Errno.EINVAL, $"dmesg: '{text}' is not a 64-bit hex value");
        return value;
    }

    [GeneratedRegex(@"DMAR: (dmar\d+): reg_base_addr ([0-9a-fA-F]+) ver (\d+):(\d+) cap ([0-9a-fA-F]+) ecap ([0-9a-fA-F]+)")]
    private static partial Regex UnitLine();

    [GeneratedRegex(@"DMAR: Host address width (\d+)")]
    private static partial Regex WidthLine();
}
