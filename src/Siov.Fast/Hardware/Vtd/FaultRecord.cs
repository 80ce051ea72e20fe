using System.Globalization;

namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// One primary fault record (VT-d spec section 11.4.14, FRCD_REG): source id, PASID when the
/// request had one, the faulting page address (the hardware records bits 63:12), the fault
/// reason and whether the request was a read or a write.
/// </summary>
/// <param name="SourceId">Requester id of the faulting request.</param>
/// <param name="HasPasid">PP: the request carried a PASID.</param>
/// <param name="Pasid">PV: the PASID when <paramref name="HasPasid"/>, else 0.</param>
/// <param name="Address">FI: the faulting address with bits 11:0 cleared.</param>
/// <param name="Reason">FR: the fault reason code.</param>
/// <param name="IsWrite">T: false for a read request (T = 1 in the register), true for a write.</param>
public readonly record struct FaultRecord(ushort SourceId, bool HasPasid, uint Pasid, ulong Address, FaultReason Reason, bool IsWrite)
{
    /// <summary>
    /// The line Linux prints for this fault (<c>dmar_fault_do_one</c>), for example
    /// <c>DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x7c346000 [fault reason 0x06] PTE Read access is not set</c>.
    /// </summary>
    /// <returns>The formatted line, without a trailing newline.</returns>
    public string ToLinuxString() => string.Create(CultureInfo.InvariantCulture,
        $"DMAR: [{(IsWrite ? "DMA Write" : "DMA Read")} {(HasPasid ? "PASID 0x" + Pasid.ToString("x", CultureInfo.InvariantCulture) : "NO_PASID")}] " +
        $"Request device [{RequesterIds.Format(SourceId)}] fault addr 0x{Address:x} [fault reason 0x{(byte)Reason:x2}] {FaultReasons.Describe(Reason)}");

    /// <inheritdoc/>
    public override string ToString() => ToLinuxString();
}
