using System.Collections.Immutable;

namespace Siov.Fast.Platforms;

/// <summary>
/// Groups PCI devices the way Linux's <c>pci_device_group</c> does, as pure data.
/// </summary>
/// <remarks>
/// Rules: (1) a device shares the group of its DMA aliases: a PCIe-to-PCI bridge or a conventional
/// PCI bridge above it (their secondary-side requests carry the bridge's id). (2) Walking up from the
/// device, while the bridge above has no ACS isolation on its whole path to the root, the device
/// joins that bridge's group. (3) A function of a multifunction device without ACS shares a group
/// with its sibling functions that lack ACS too. ACS isolation means the kernel's REQ_ACS_FLAGS:
/// Source Validation, P2P Request Redirect, P2P Completion Redirect and Upstream Forwarding; root and
/// downstream ports need them, so do functions of multifunction endpoints; single-function endpoints and
/// upstream ports pass; conventional PCI functions and PCI/PCIe bridges never do.
/// The capability (ACSCap) decides, not the control register (ACSCtl): a lspci capture taken with the
/// IOMMU off shows every control disabled, while Linux enables every capable bit when the IOMMU is
/// on, so ACSCap predicts the groups the running kernel forms. Unlike the kernel, the four bits are
/// required outright (the kernel drops a required bit the port does not implement), and device-specific
/// ACS quirks (e.g. for Intel PCH root ports) are not modelled.
/// </remarks>
public static class IommuGrouping
{
    /// <summary>The ACS bits a port or multifunction device needs to isolate (Linux REQ_ACS_FLAGS).</summary>
    public const AcsCapabilities RequiredAcs = AcsCapabilities.SourceValidation | AcsCapabilities.RequestRedirect
        | AcsCapabilities.CompletionRedirect | AcsCapabilities.UpstreamForwarding;

    /// <summary>Groups devices.</summary>
    /// <param name="devices">The devices to group (duplicates are ignored).</param>
    /// <param name="topology">The PCI hierarchy, or null when unknown: then each device is alone except
    /// functions of one device, which share a group since nothing shows that they isolate.</param>
    /// <returns>The groups, numbered 0.. in order of their lowest address.</returns>
    public static ImmutableArray<GroupDescription> Compute(IEnumerable<PciAddress> devices, PciTopology? topology)
    {
        ArgumentNullException.ThrowIfNull(devices);
        PciAddress[] all = devices.Distinct().Order().ToArray();
        var index = new Dictionary<PciAddress, int>(all.Length);
        for (int i = 0; i < all.Length; i++)
            index[all[i]] = i;
        var slots = all.GroupBy(Slot).ToDictionary(g => g.Key, g => g.ToArray());
        int[] parent = Enumerable.Range(0, all.Length).ToArray();

        int Find(int i)
        {
            while (parent[i] != i)
                i = parent[i] = parent[parent[i]];
            return i;
        }

        void Union(PciAddress a, PciAddress b)
        {
            if (index.TryGetValue(a, out int ia) && index.TryGetValue(b, out int ib))
            {
                int ra = Find(ia), rb = Find(ib);
                if (ra != rb)
                    parent[Math.Max(ra, rb)] = Math.Min(ra, rb);
            }
        }

        bool Multifunction(PciAddress a) =>
            topology?.Find(a)?.IsMultifunction ?? (slots.TryGetValue(Slot(a), out PciAddress[]? fns) && fns.Length > 1);

        bool AcsEnabled(PciAddress a)
        {
            PciFunction? f = topology?.Find(a);
            if (f is null)
                return !Multifunction(a);
            bool isolates = f.HasAcs && (f.AcsCapability & RequiredAcs) == RequiredAcs;
            return f.ExpressType switch
            {
                PciExpressType.None or PciExpressType.PcieToPciBridge or PciExpressType.PciToPcieBridge
                    or PciExpressType.RootComplexEventCollector => false,
                PciExpressType.RootPort or PciExpressType.DownstreamPort => isolates,
                _ => !f.IsMultifunction || isolates,
            };
        }

        bool AcsPathEnabled(PciFunction bridge) =>
            AcsEnabled(bridge.Address) && topology!.UpstreamBridges(bridge.Address).All(b => AcsEnabled(b.Address));

        foreach (PciAddress device in all)
        {
            IReadOnlyList<PciFunction> upstream = topology?.UpstreamBridges(device) ?? [];
            // Rule 1: DMA aliases.
            foreach (PciFunction bridge in upstream)
                if (bridge.ExpressType is PciExpressType.None or PciExpressType.PcieToPciBridge or PciExpressType.PciToPcieBridge)
                    Union(device, bridge.Address);
            // Rule 2: climb while isolation is missing above.
            PciAddress top = device;
            foreach (PciFunction bridge in upstream)
            {
                if (AcsPathEnabled(bridge))
                    break;
                top = bridge.Address;
            }
            Union(device, top);
            // Rule 3: sibling functions without ACS.
            if (Multifunction(top) && !AcsEnabled(top) && slots.TryGetValue(Slot(top), out PciAddress[]? siblings))
                foreach (PciAddress sibling in siblings)
                    if (!AcsEnabled(sibling))
                        Union(top, sibling);
        }

        // Roots are the lowest index of each set (Union keeps the smaller), so ordering by root
        // orders groups by their lowest address.
        return Enumerable.Range(0, all.Length)
            .GroupBy(Find)
            .OrderBy(g => g.Key)
            .Select((g, id) => new GroupDescription(id, g.Select(i => all[i]).ToImmutableArray()))
            .ToImmutableArray();
    }

    private static (ushort Segment, int Bus, int Device) Slot(PciAddress a) => (a.Segment, a.Bus, a.Device);
}
