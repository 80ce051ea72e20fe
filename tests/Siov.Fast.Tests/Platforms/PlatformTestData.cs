namespace Siov.Fast.Tests.Platforms;

/// <summary>Paths of the real tables (copied to the output) and of the shared lspci capture (never copied).</summary>
internal static class PlatformTestData
{
    public const string R820Lspci = "dell-poweredge-r820.lspci.txt";

    public static string DataDirectory => Path.Combine(AppContext.BaseDirectory, "Platforms", "Data");

    public static string[] DmarNames => Names("*.dmar.dat");

    public static string[] IvrsNames => Names("*.ivrs.dat");

    public static TheoryData<string> DmarTables => new(DmarNames);

    public static TheoryData<string> IvrsTables => new(IvrsNames);

    public static byte[] Bytes(string name) => File.ReadAllBytes(Path.Combine(DataDirectory, name + ".dat"));

    public static string Dsl(string name) => File.ReadAllText(Path.Combine(DataDirectory, name + ".dsl"));

    /// <summary>A file of ../shared/platforms beside the repository root (the folder holding Siov.Fast.sln), or null.</summary>
    public static string? SharedFile(string name)
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Siov.Fast.sln")))
            {
                string path = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "platforms", name));
                return File.Exists(path) ? path : null;
            }
        }
        return null;
    }

    public static string R820LspciText() =>
        File.ReadAllText(SharedFile(R820Lspci) ?? throw new InvalidOperationException("R820 lspci capture is absent"));

    private static string[] Names(string pattern) =>
        Directory.GetFiles(DataDirectory, pattern).Select(p => Path.GetFileName(p)[..^4]).Order(StringComparer.Ordinal).ToArray();
}

/// <summary>A fact that needs the R820 lspci capture from ../shared/platforms (no licence, so never copied
/// into the repository); skipped, saying why, when the file is absent.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class R820LspciFactAttribute : FactAttribute
{
    /// <summary>Sets Skip when the capture is absent.</summary>
    public R820LspciFactAttribute()
    {
        if (PlatformTestData.SharedFile(PlatformTestData.R820Lspci) is null)
            Skip = "needs ../shared/platforms/dell-poweredge-r820.lspci.txt beside the repository (not redistributable, so not copied)";
    }
}
