using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Siov.Fast.Hardware.Vtd;

namespace Siov.Fast;

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

    /// <summary>The fault code of the translating hardware; <see cref="FaultReason.None"/> (0) on success. A VT-d unit's is
    /// its fault reason; an SMMUv3's is its EventID (read it with <c>Smmu.EventOf</c>).</summary>
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
