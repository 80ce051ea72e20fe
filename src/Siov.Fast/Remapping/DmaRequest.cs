using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Siov.Fast.Remapping;

/// <summary>
/// One DMA request as it reaches a remapping unit: the requester id (source id), an optional
/// PASID (the PCIe PASID TLP prefix), the input address and the access type. 16 bytes,
/// blittable, so batches are plain arrays.
/// </summary>
/// <remarks>Layout: bytes 0-7 IOVA, 8-11 PASID, 12-13 requester id, 14 access, 15 flags (bit 0: PASID present).</remarks>
[StructLayout(LayoutKind.Sequential, Pack = 8, Size = 16)]
public readonly struct DmaRequest : IEquatable<DmaRequest>
{
    private const byte HasPasidFlag = 1;

    private readonly ulong _iova;
    private readonly uint _pasid;
    private readonly ushort _requesterId;
    private readonly byte _access;
    private readonly byte _flags;

    /// <summary>Creates a request.</summary>
    /// <param name="requesterId">Requester id: bus in bits 15:8, device in 7:3, function in 2:0.</param>
    /// <param name="pasid">The PASID (20 bits), or null for a request without PASID (translated through RID_PASID in scalable mode).</param>
    /// <param name="iova">The input address (IOVA), any alignment.</param>
    /// <param name="access">Read, Write or both (an atomic); None checks presence only.</param>
    public DmaRequest(ushort requesterId, uint? pasid, ulong iova, DmaAccess access)
    {
        _iova = iova;
        _pasid = pasid ?? 0;
        _requesterId = requesterId;
        _access = (byte)access;
        _flags = pasid.HasValue ? HasPasidFlag : (byte)0;
    }

    /// <summary>The input address.</summary>
    public ulong Iova => _iova;

    /// <summary>Requester id (bus:dev.fn as a 16-bit source id).</summary>
    public ushort RequesterId => _requesterId;

    /// <summary>True when the request carries a PASID.</summary>
    public bool HasPasid
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (_flags & HasPasidFlag) != 0;
    }

    /// <summary>The PASID when <see cref="HasPasid"/>; 0 otherwise.</summary>
    public uint Pasid => _pasid;

    /// <summary>The access type.</summary>
    public DmaAccess Access => (DmaAccess)_access;

    /// <inheritdoc/>
    public bool Equals(DmaRequest other) =>
        _iova == other._iova && _pasid == other._pasid && _requesterId == other._requesterId
        && _access == other._access && _flags == other._flags;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is DmaRequest other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_iova, _pasid, _requesterId, _access, _flags);

    /// <summary>Equality of every field.</summary>
    /// <param name="left">One request.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(DmaRequest left, DmaRequest right) => left.Equals(right);

    /// <summary>Inequality of some field.</summary>
    /// <param name="left">One request.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(DmaRequest left, DmaRequest right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() =>
        $"{RequesterIds.Format(RequesterId)} {(HasPasid ? "PASID " + Throw.Hex(Pasid) : "NO_PASID")} {Throw.Hex(Iova)} {Access}";
}

/// <summary>
/// The outcome of one translation: the HPA with its page size and permissions, or the fault
/// reason the hardware would record. 16 bytes, blittable.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 8, Size = 16)]
public readonly struct TranslationResult : IEquatable<TranslationResult>
{
    private readonly ulong _hpa;
    private readonly byte _pageShift;
    private readonly byte _permissions;
    private readonly byte _fault;

    /// <summary>A successful translation written as two words (the field-by-field constructor
    /// costs the batch loop a zeroing store and three byte stores).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TranslationResult Translated(ulong hpa, int pageShift, ulong permissions)
    {
        Unsafe.SkipInit(out TranslationResult result);
        ref ulong words = ref Unsafe.As<TranslationResult, ulong>(ref result);
        words = hpa;
        // Little-endian: byte 8 is the page shift, byte 9 the permissions, byte 10 the fault (none).
        Unsafe.Add(ref words, 1) = BitConverter.IsLittleEndian
            ? (uint)pageShift | (permissions & 3) << 8
            : (ulong)pageShift << 56 | (permissions & 3) << 48;
        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal TranslationResult(ulong hpa, int pageShift, DmaProtection permissions, FaultReason fault)
    {
        _hpa = hpa;
        _pageShift = (byte)pageShift;
        _permissions = (byte)permissions;
        _fault = (byte)fault;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TranslationResult Faulted(FaultReason reason) => new(0, 0, DmaProtection.None, reason);

    /// <summary>True when the request was translated (no fault).</summary>
    public bool IsSuccess => _fault == 0;

    /// <summary>The translated HPA, page offset included; 0 on a fault.</summary>
    public ulong Hpa => _hpa;

    /// <summary>Size in bytes of the page that translated the request (4 KiB, 2 MiB or 1 GiB; 4 KiB for
    /// pass-through); 0 on a fault.</summary>
    public ulong PageSize => _pageShift == 0 ? 0 : 1UL << _pageShift;

    /// <summary>Effective permissions of that page; None on a fault.</summary>
    public DmaProtection Permissions => (DmaProtection)_permissions;

    /// <summary>The fault reason code; <see cref="FaultReason.None"/> on success.</summary>
    public FaultReason Fault => (FaultReason)_fault;

    /// <inheritdoc/>
    public bool Equals(TranslationResult other) =>
        _hpa == other._hpa && _pageShift == other._pageShift && _permissions == other._permissions && _fault == other._fault;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is TranslationResult other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_hpa, _pageShift, _permissions, _fault);

    /// <summary>Equality of every field.</summary>
    /// <param name="left">One result.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(TranslationResult left, TranslationResult right) => left.Equals(right);

    /// <summary>Inequality of some field.</summary>
    /// <param name="left">One result.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(TranslationResult left, TranslationResult right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => IsSuccess
        ? $"{Throw.Hex(Hpa)} ({PageSize >> 10} KiB page, {Permissions})"
        : $"fault 0x{(byte)Fault:x2} {FaultReasons.Describe(Fault)}";
}

/// <summary>Requester id (source id) helpers: bus in bits 15:8, device in 7:3, function in 2:0.</summary>
public static class RequesterIds
{
    /// <summary>Builds a requester id.</summary>
    /// <param name="bus">Bus number, 0-255.</param>
    /// <param name="device">Device number, 0-31.</param>
    /// <param name="function">Function number, 0-7.</param>
    /// <returns>The 16-bit requester id.</returns>
    /// <exception cref="IommuException">EINVAL naming the field out of range.</exception>
    public static ushort From(int bus, int device, int function)
    {
        if (bus is < 0 or > 255)
            Throw.Iommu(Errno.EINVAL, $"bus {bus} is outside 0-255");
        if (device is < 0 or > 31)
            Throw.Iommu(Errno.EINVAL, $"device {device} is outside 0-31");
        if (function is < 0 or > 7)
            Throw.Iommu(Errno.EINVAL, $"function {function} is outside 0-7");
        return (ushort)(bus << 8 | device << 3 | function);
    }

    /// <summary>Formats a requester id the way Linux prints it in DMAR faults: <c>bb:dd.f</c> in hex.</summary>
    /// <param name="requesterId">The requester id.</param>
    /// <returns>For example <c>00:02.0</c>.</returns>
    public static string Format(ushort requesterId) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{requesterId >> 8:x2}:{(requesterId >> 3) & 0x1F:x2}.{requesterId & 7:x}");
}
