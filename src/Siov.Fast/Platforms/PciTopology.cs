using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Siov.Fast.Platforms;

/// <summary>
/// A PCI hierarchy read from <c>lspci -vvnn</c> text (pciutils): functions, bridges and the bus
/// numbers under them.
/// </summary>
public sealed partial class PciTopology
{
    private readonly Dictionary<PciAddress, PciFunction> _byAddress;

    private PciTopology(ImmutableArray<PciFunction> functions)
    {
        Functions = functions;
        _byAddress = functions.ToDictionary(f => f.Address);
    }

    /// <summary>Every function, sorted by address.</summary>
    public ImmutableArray<PciFunction> Functions { get; }

    /// <summary>The function at an address, or null.</summary>
    /// <param name="address">The address.</param>
    /// <returns>The function or null.</returns>
    public PciFunction? Find(PciAddress address) => _byAddress.GetValueOrDefault(address);

    /// <summary>The bridge whose secondary bus is the given bus (the bus's "self"), or null on a root bus.</summary>
    /// <param name="segment">PCI segment.</param>
    /// <param name="bus">Bus number.</param>
    /// <returns>The bridge or null.</returns>
    public PciFunction? BridgeTo(ushort segment, int bus)
    {
        foreach (PciFunction f in Functions)
            if (f.IsBridge && f.Address.Segment == segment && f.SecondaryBus == bus && f.SecondaryBus != f.Address.Bus)
                return f;
        return null;
    }

    /// <summary>The bridges between an address and its root bus, nearest first.</summary>
    /// <param name="address">The device address (need not be present in the topology).</param>
    /// <returns>The upstream bridges.</returns>
    public IReadOnlyList<PciFunction> UpstreamBridges(PciAddress address)
    {
        var bridges = new List<PciFunction>();
        int bus = address.Bus;
        // Bus numbers only grow going down; the guard stops a malformed loop.
        for (PciFunction? b = BridgeTo(address.Segment, bus); b is not null && bridges.Count < 256; b = BridgeTo(address.Segment, b.Address.Bus))
            bridges.Add(b);
        return bridges;
    }

    /// <summary>Parses <c>lspci -vvnn</c> (or <c>-vvvnn</c>, <c>-Dvvnn</c>) output.</summary>
    /// <param name="text">The lspci text.</param>
    /// <returns>The topology.</returns>
    /// <exception cref="IommuException">EINVAL naming the line when a function header or a bus line cannot be read,
    /// or when no function is found.</exception>
    public static PciTopology ParseLspci(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builders = new List<Builder>();
        Builder? current = null;
        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0)
                continue;
            // pciutils' own warnings ("pcilib: ...", "lspci: ...") are not part of the listing.
            if (line.StartsWith("pcilib:", StringComparison.Ordinal) || line.StartsWith("lspci:", StringComparison.Ordinal))
                continue;
            if (!char.IsWhiteSpace(line[0]))
            {
                Match m = HeaderLine().Match(line);
                if (!m.Success)
                    Throw.Iommu(Errno.EINVAL, $"lspci line {i + 1}: '{Shorten(line)}' is not a function header (BB:DD.F class [cccc]: ...)");
                int segment = m.Groups[1].Success ? Hex(m.Groups[1].Value) : 0;
                current = new Builder
                {
                    Address = new PciAddress(segment, Hex(m.Groups[2].Value), Hex(m.Groups[3].Value), Hex(m.Groups[4].Value)),
                    ClassCode = Hex(m.Groups[5].Value),
                    Description = m.Groups[6].Value,
                };
                Match ids = IdPair().Match(m.Groups[6].Value);
                if (ids.Success)
                {
                    current.VendorId = Hex(ids.Groups[1].Value);
                    current.DeviceId = Hex(ids.Groups[2].Value);
                }
                builders.Add(current);
                continue;
            }
            if (current is null)
                Throw.Iommu(Errno.EINVAL, $"lspci line {i + 1}: detail line before any function header");
            ReadDetail(current, line.Trim(), i + 1);
        }
        if (builders.Count == 0)
            Throw.Iommu(Errno.EINVAL, "lspci text holds no PCI function");

        // lspci does not print the header's multifunction bit; a device with several functions is multifunction.
        var functionsPerSlot = builders.GroupBy(b => (b.Address.Segment, b.Address.Bus, b.Address.Device))
            .ToDictionary(g => g.Key, g => g.Count());
        var functions = builders
            .Select(b => b.Build(functionsPerSlot[(b.Address.Segment, b.Address.Bus, b.Address.Device)] > 1))
            .OrderBy(f => f.Address)
            .ToImmutableArray();
        for (int i = 1; i < functions.Length; i++)
            if (functions[i].Address == functions[i - 1].Address)
                Throw.Iommu(Errno.EINVAL, $"lspci text lists function {functions[i].Address} twice");
        return new PciTopology(functions);
    }

    private static void ReadDetail(Builder b, string line, int lineNumber)
    {
        if (line.StartsWith("Bus: primary=", StringComparison.Ordinal))
        {
            Match m = BusLine().Match(line);
            if (!m.Success)
                Throw.Iommu(Errno.EINVAL, $"lspci line {lineNumber}: '{Shorten(line)}' is not a 'Bus: primary=.., secondary=.., subordinate=..' line");
            b.IsBridge = true;
            b.Primary = Hex(m.Groups[1].Value);
            b.Secondary = Hex(m.Groups[2].Value);
            b.Subordinate = Hex(m.Groups[3].Value);
        }
        else if (line.StartsWith("Capabilities:", StringComparison.Ordinal))
        {
            Match m = ExpressLine().Match(line);
            if (m.Success)
                b.ExpressType = ExpressTypeOf(m.Groups[1].Value);
            else if (line.Contains("Access Control Services", StringComparison.Ordinal))
                b.HasAcs = true;
            else if (line.Contains("Address Translation Service", StringComparison.Ordinal))
                b.Ats = true;
            else if (line.Contains("Process Address Space ID", StringComparison.Ordinal))
                b.Pasid = true;
            else if (line.Contains("Page Request Interface", StringComparison.Ordinal))
                b.Pri = true;
        }
        else if (line.StartsWith("ACSCap:", StringComparison.Ordinal))
            b.AcsCap = AcsBits(line);
        else if (line.StartsWith("ACSCtl:", StringComparison.Ordinal))
            b.AcsCtl = AcsBits(line);
        else if (line.StartsWith("PASIDCap:", StringComparison.Ordinal))
        {
            // pciutils prints the width in hex ("Max PASID Width: 14" is 20 bits).
            Match m = PasidWidth().Match(line);
            if (m.Success)
                b.PasidWidth = Hex(m.Groups[1].Value);
        }
    }

    private static PciExpressType ExpressTypeOf(string text) => text switch
    {
        _ when text.StartsWith("Root Complex Integrated Endpoint", StringComparison.Ordinal) => PciExpressType.RootComplexIntegratedEndpoint,
        _ when text.StartsWith("Root Complex Event Collector", StringComparison.Ordinal) => PciExpressType.RootComplexEventCollector,
        _ when text.StartsWith("Root Port", StringComparison.Ordinal) => PciExpressType.RootPort,
        _ when text.StartsWith("Legacy Endpoint", StringComparison.Ordinal) => PciExpressType.LegacyEndpoint,
        _ when text.StartsWith("Endpoint", StringComparison.Ordinal) => PciExpressType.Endpoint,
        _ when text.StartsWith("Upstream Port", StringComparison.Ordinal) => PciExpressType.UpstreamPort,
        _ when text.StartsWith("Downstream Port", StringComparison.Ordinal) => PciExpressType.DownstreamPort,
        _ when text.StartsWith("PCI-Express to PCI", StringComparison.Ordinal) => PciExpressType.PcieToPciBridge,
        _ when text.StartsWith("PCI/PCI-X to PCI-Express", StringComparison.Ordinal) => PciExpressType.PciToPcieBridge,
        _ => PciExpressType.Endpoint,
    };

    private static readonly (string Name, AcsCapabilities Flag)[] AcsNames =
    [
        ("SrcValid", AcsCapabilities.SourceValidation), ("TransBlk", AcsCapabilities.TranslationBlocking),
        ("ReqRedir", AcsCapabilities.RequestRedirect), ("CmpltRedir", AcsCapabilities.CompletionRedirect),
        ("UpstreamFwd", AcsCapabilities.UpstreamForwarding), ("EgressCtrl", AcsCapabilities.EgressControl),
        ("DirectTrans", AcsCapabilities.DirectTranslatedP2P),
    ];

    private static AcsCapabilities AcsBits(string line)
    {
        AcsCapabilities flags = AcsCapabilities.None;
        foreach ((string name, AcsCapabilities flag) in AcsNames)
            if (line.Contains(name + "+", StringComparison.Ordinal))
                flags |= flag;
        return flags;
    }

    private static int Hex(string text) => int.Parse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

    private static string Shorten(string line) => line.Length <= 60 ? line : line[..60] + "...";

    [GeneratedRegex(@"^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7]) .*?\[([0-9a-fA-F]{4})\]: (.*)$")]
    private static partial Regex HeaderLine();

    [GeneratedRegex(@"\[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\](?!.*\[[0-9a-fA-F]{4}:[0-9a-fA-F]{4}\])")]
    private static partial Regex IdPair();

    [GeneratedRegex(@"^Bus: primary=([0-9a-fA-F]{2}), secondary=([0-9a-fA-F]{2}), subordinate=([0-9a-fA-F]{2})")]
    private static partial Regex BusLine();

    [GeneratedRegex(@"^Capabilities: \[[0-9a-fA-F]+\] Express \(v\d+\) (.*)$")]
    private static partial Regex ExpressLine();

    [GeneratedRegex(@"Max PASID Width: ([0-9a-fA-F]+)")]
    private static partial Regex PasidWidth();

    private sealed class Builder
    {
        public PciAddress Address;
        public int ClassCode;
        public int? VendorId, DeviceId;
        public string Description = "";
        public bool IsBridge, HasAcs, Ats, Pasid, Pri;
        public int Primary, Secondary, Subordinate, PasidWidth;
        public PciExpressType ExpressType;
        public AcsCapabilities AcsCap, AcsCtl;

        public PciFunction Build(bool multifunction) => new(
            Address, ClassCode, VendorId, DeviceId, Description, IsBridge, Primary, Secondary, Subordinate, multifunction,
            ExpressType, HasAcs, AcsCap, AcsCtl, Ats, Pasid, Pasid ? PasidWidth : 0, Pri);
    }
}
