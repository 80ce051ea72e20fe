using Siov.Fast.Hardware;
using Siov.Fast.Hardware.Vtd;

namespace Siov.Fast.Ats;

/// <summary>
/// The answer to an ATS translation request: a completion status and, on success, one translation completion data
/// entry (PCIe Base Specification, Address Translation Services, "Translation Completion Data Entry"): the translated
/// range (address bits 63:12 with S, as <see cref="AtsAddressRange"/>), R, W, U (untranslated access only), Exe, Priv,
/// Global and N (no snoop). A success with R and W clear says the page is not there: the function may send a page
/// request (PRI) and ask again. On an unsuccessful completion <see cref="Fault"/> names the fault the unit recorded.
/// </summary>
public readonly struct AtsCompletion : IEquatable<AtsCompletion>
{
    /// <summary>R, bit 0: reads allowed.</summary>
    public static readonly RegisterField ReadField = new(0, 1);

    /// <summary>W, bit 1: writes allowed.</summary>
    public static readonly RegisterField WriteField = new(1, 1);

    /// <summary>U, bit 2: the range may only be accessed with untranslated requests (never set by VT-d).</summary>
    public static readonly RegisterField UntranslatedOnlyField = new(2, 1);

    /// <summary>Exe, bit 7: instruction fetches allowed (asked for with the PASID prefix's ER).</summary>
    public static readonly RegisterField ExecuteField = new(7, 1);

    /// <summary>Priv, bit 8: the permissions are those of privileged (supervisor) mode.</summary>
    public static readonly RegisterField PrivilegedField = new(8, 1);

    /// <summary>Global, bit 9: the translation is the same for every PASID.</summary>
    public static readonly RegisterField GlobalField = new(9, 1);

    /// <summary>N, bit 10: accesses to the range may be non-snooped.</summary>
    public static readonly RegisterField NoSnoopField = new(10, 1);

    /// <summary>S, bit 11: the range is larger than 4 KiB (<see cref="AtsAddressRange"/>).</summary>
    public static readonly RegisterField SizeField = new(11, 1);

    private readonly ulong _entry;
    private readonly AtsCompletionStatus _status;
    private readonly FaultReason _fault;

    private AtsCompletion(ulong entry, AtsCompletionStatus status, FaultReason fault)
    {
        _entry = entry;
        _status = status;
        _fault = fault;
    }

    /// <summary>A successful completion for a naturally aligned range.</summary>
    /// <param name="translatedAddress">First byte of the translated range (aligned to its size).</param>
    /// <param name="sizeShift">log2 of the range's bytes (12 for a 4 KiB page, 21 for 2 MiB, 30 for 1 GiB).</param>
    /// <param name="permissions">R and W; None for a page that is not there.</param>
    /// <param name="execute">Exe.</param>
    /// <param name="privileged">Priv.</param>
    /// <param name="global">Global.</param>
    /// <param name="deniedFault">When the completion does not grant the access asked for: the fault an untranslated
    /// request with that access would have got (not recorded; see <see cref="Fault"/>).</param>
    /// <returns>The completion.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size shift outside 12-63 or an unaligned address.</exception>
    public static AtsCompletion Success(ulong translatedAddress, int sizeShift, DmaProtection permissions, bool execute = false,
        bool privileged = false, bool global = false, FaultReason deniedFault = FaultReason.None)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sizeShift, 63);
        (ulong bits, bool size) = AtsAddressRange.Encode(translatedAddress, sizeShift);
        ulong entry = bits | SizeField.Encode(size ? 1UL : 0) | ReadField.Encode((ulong)permissions & 1)
            | WriteField.Encode(((ulong)permissions >> 1) & 1) | ExecuteField.Encode(execute ? 1UL : 0)
            | PrivilegedField.Encode(privileged ? 1UL : 0) | GlobalField.Encode(global ? 1UL : 0);
        return new AtsCompletion(entry, AtsCompletionStatus.Success, deniedFault);
    }

    /// <summary>An unsuccessful completion (UR or CA).</summary>
    /// <param name="status">UR or CA.</param>
    /// <param name="fault">The fault the translation agent recorded for it.</param>
    /// <returns>The completion.</returns>
    /// <exception cref="ArgumentException"><paramref name="status"/> is Success.</exception>
    public static AtsCompletion Unsuccessful(AtsCompletionStatus status, FaultReason fault)
    {
        if (status == AtsCompletionStatus.Success)
            throw new ArgumentException("an unsuccessful completion needs UR or CA", nameof(status));
        return new AtsCompletion(0, status, fault);
    }

    /// <summary>Decodes a successful completion from its data entry (the low word first, as on the wire).</summary>
    /// <param name="dataEntry">The 64-bit translation completion data entry.</param>
    /// <returns>The completion.</returns>
    public static AtsCompletion FromDataEntry(ulong dataEntry) => new(dataEntry, AtsCompletionStatus.Success, FaultReason.None);

    /// <summary>The completion status.</summary>
    public AtsCompletionStatus Status => _status;

    /// <summary>True for a successful completion (which may still grant nothing: see <see cref="Permissions"/>).</summary>
    public bool IsSuccess => _status == AtsCompletionStatus.Success;

    /// <summary>For an unsuccessful completion, the fault the unit recorded. For a success that does not grant the access
    /// asked for (R = W = 0, or no W for a write), the fault an untranslated request would have got there, which is not
    /// recorded. Otherwise <see cref="FaultReason.None"/>. Not part of the data entry.</summary>
    public FaultReason Fault => _fault;

    /// <summary>The 64-bit translation completion data entry; 0 when unsuccessful.</summary>
    public ulong DataEntry => _entry;

    /// <summary>First byte of the translated range.</summary>
    public ulong TranslatedAddress => AtsAddressRange.Decode(_entry, SizeField.IsSet(_entry)).Address;

    /// <summary>log2 of the range's size in bytes (12 = 4 KiB).</summary>
    public int SizeShift => AtsAddressRange.Decode(_entry, SizeField.IsSet(_entry)).SizeShift;

    /// <summary>R and W.</summary>
    public DmaProtection Permissions => (DmaProtection)(_entry & 3);

    /// <summary>Exe.</summary>
    public bool Execute => ExecuteField.IsSet(_entry);

    /// <summary>Priv.</summary>
    public bool Privileged => PrivilegedField.IsSet(_entry);

    /// <summary>Global.</summary>
    public bool Global => GlobalField.IsSet(_entry);

    /// <summary>U: untranslated access only.</summary>
    public bool UntranslatedOnly => UntranslatedOnlyField.IsSet(_entry);

    /// <summary>N: no snoop.</summary>
    public bool NoSnoop => NoSnoopField.IsSet(_entry);

    /// <summary>The translated address of <paramref name="untranslatedAddress"/>: the range's base plus the offset in it.</summary>
    /// <param name="untranslatedAddress">An address inside the range that was asked for.</param>
    /// <returns>The translated address.</returns>
    public ulong Translate(ulong untranslatedAddress) =>
        TranslatedAddress | (untranslatedAddress & ((1UL << SizeShift) - 1));

    /// <inheritdoc/>
    public bool Equals(AtsCompletion other) => _entry == other._entry && _status == other._status && _fault == other._fault;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is AtsCompletion other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_entry, _status, _fault);

    /// <summary>Equality of status, entry and fault.</summary>
    /// <param name="left">One completion.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(AtsCompletion left, AtsCompletion right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    /// <param name="left">One completion.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(AtsCompletion left, AtsCompletion right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => IsSuccess
        ? $"SC {Throw.Hex(TranslatedAddress)} 2^{SizeShift} {Permissions}{(Execute ? " Exe" : "")}{(Privileged ? " Priv" : "")}{(Global ? " G" : "")}"
        : $"{(_status == AtsCompletionStatus.UnsupportedRequest ? "UR" : "CA")} fault 0x{(byte)_fault:x2} {FaultReasons.Describe(_fault)}";
}
