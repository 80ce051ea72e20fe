using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Siov.Fast;

/// <summary>
/// One DMA request as it reaches a remapping unit: the requester id (source id), an optional
/// PASID (the PCIe PASID TLP prefix), the input address and the access type. 16 bytes,
/// blittable, so batches are plain arrays.
/// </summary>
/// <remarks>Layout: bytes 0-7 IOVA, 8-11 PASID, 12-13 requester id, 14 access, 15 flags (bit 0: PASID present;
/// bit 1: privileged, the PASID prefix's PMR; bit 2: execute, its ER; bit 3: a translated request, AT = 10b).</remarks>
[StructLayout(LayoutKind.Sequential, Pack = 8, Size = 16)]
public readonly struct DmaRequest : IEquatable<DmaRequest>
{
    private const byte HasPasidFlag = 1;
    private const int AttributeShift = 1;
    private const byte TranslatedFlag = 1 << 3;

    /// <summary>The flags byte of a request with a PASID and no attributes: the only value the caches' hit path
    /// looks up by PASID (see <c>ContextCacheEntry.Lookup</c>).</summary>
    internal const byte PlainPasidFlags = HasPasidFlag;

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

    /// <summary>Creates a request with PASID-prefix attributes (VT-d spec 3.4.4: privileged and execute requests).</summary>
    /// <param name="requesterId">Requester id.</param>
    /// <param name="pasid">The PASID; attributes travel in the PASID prefix, so a request with attributes needs one.</param>
    /// <param name="iova">The input address.</param>
    /// <param name="access">Read, Write or both.</param>
    /// <param name="attributes">Privileged (supervisor) and execute.</param>
    /// <exception cref="ArgumentException">Attributes without a PASID, or undefined attribute bits.</exception>
    public DmaRequest(ushort requesterId, uint? pasid, ulong iova, DmaAccess access, DmaRequestAttributes attributes)
        : this(requesterId, pasid, iova, access)
    {
        if (((uint)attributes & ~3u) != 0)
            throw new ArgumentException($"undefined request attributes 0x{(uint)attributes:x}", nameof(attributes));
        if (attributes != DmaRequestAttributes.None && !pasid.HasValue)
            throw new ArgumentException("privileged and execute requests carry a PASID prefix: give a PASID", nameof(attributes));
        _flags |= (byte)((uint)attributes << AttributeShift);
    }

    /// <summary>
    /// A translated request (PCIe AT = 10b): the function took <paramref name="translatedAddress"/> from its ATC (an ATS
    /// translation completion) and the unit only checks that the function may send translated requests (VT-d spec 4.2.4:
    /// DTE set in the scalable-mode context entry, TT = 01b in a legacy one).
    /// </summary>
    /// <param name="requesterId">Requester id.</param>
    /// <param name="pasid">The PASID the translation was asked for, or null.</param>
    /// <param name="translatedAddress">The translated (host physical) address.</param>
    /// <param name="access">Read, Write or both.</param>
    /// <returns>The request.</returns>
    public static DmaRequest Translated(ushort requesterId, uint? pasid, ulong translatedAddress, DmaAccess access) =>
        new(requesterId, pasid, translatedAddress, access, (byte)((pasid.HasValue ? HasPasidFlag : 0) | TranslatedFlag));

    private DmaRequest(ushort requesterId, uint? pasid, ulong iova, DmaAccess access, byte flags)
        : this(requesterId, pasid, iova, access)
    {
        _flags = flags;
    }

    /// <summary>The same request carrying another requester id (the StreamID a platform's IORT maps the requester id to):
    /// PASID, address, access, attributes and AT kept.</summary>
    /// <param name="requesterId">The id the IOMMU sees.</param>
    /// <returns>The request.</returns>
    public DmaRequest WithRequesterId(ushort requesterId) => new(requesterId, HasPasid ? Pasid : null, Iova, (DmaAccess)_access, _flags);

    /// <summary>True for a translated request (AT = 10b): <see cref="Iova"/> is then a translated address.</summary>
    public bool IsTranslated => (_flags & TranslatedFlag) != 0;

    /// <summary>The privileged and execute attributes of the PASID prefix.</summary>
    public DmaRequestAttributes Attributes => (DmaRequestAttributes)((_flags >> AttributeShift) & 3);

    /// <summary>The flags byte (bit 0 PASID present, bits 2:1 the attributes): one compare tells a plain request.</summary>
    internal byte Flags
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _flags;
    }

    /// <summary>True for an untranslated request without privileged or execute attributes (with or without a PASID): the
    /// only kind a cache of user-mode translations may answer.</summary>
    internal bool IsPlain
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (_flags & ~HasPasidFlag) == 0;
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
        $"{RequesterIds.Format(RequesterId)} {(HasPasid ? "PASID " + Throw.Hex(Pasid) : "NO_PASID")} {Throw.Hex(Iova)} {Access}"
        + (Attributes == DmaRequestAttributes.None ? "" : " " + Attributes) + (IsTranslated ? " translated" : "");
}
