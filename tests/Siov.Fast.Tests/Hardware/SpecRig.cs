using System.Globalization;
using System.Linq.Expressions;
using System.Reflection;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.Memory;

namespace Siov.Fast.Tests.Hardware;

/// <summary>What a device DMA got back from the unit, in the contract's terms.</summary>
internal readonly record struct DmaOutcome(bool IsSuccess, ulong Hpa, ulong PageSize, DmaProtection Permissions, int Reason);

/// <summary>Counts raisings of a C# event whatever its delegate type (the oracle does not depend on it).</summary>
internal sealed class EventCounter
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Hit() => Interlocked.Increment(ref _count);

    public static EventCounter Subscribe(object source, string eventName)
    {
        EventInfo e = source.GetType().GetEvent(eventName)
            ?? throw new InvalidOperationException($"{source.GetType().Name} has no event {eventName}");
        Type handlerType = e.EventHandlerType!;
        MethodInfo invoke = handlerType.GetMethod("Invoke")!;
        ParameterExpression[] parameters = [.. invoke.GetParameters().Select(p => Expression.Parameter(p.ParameterType, p.Name))];
        var counter = new EventCounter();
        Expression body = Expression.Call(Expression.Constant(counter), typeof(EventCounter).GetMethod(nameof(Hit))!);
        if (invoke.ReturnType != typeof(void))
            body = Expression.Block(body, Expression.Default(invoke.ReturnType));
        e.AddEventHandler(source, Expression.Lambda(handlerType, body, parameters).Compile());
        return counter;
    }
}

/// <summary>A unit at reset on 64 MiB of fresh memory, the spec driver on it, and a fault-event counter.</summary>
internal sealed class SpecRig : IDisposable
{
    public const ulong MiB = 1UL << 20;
    public const ulong LegacyCapability = 0xc9008020660262;
    public const ulong LegacyExtendedCapability = 0xf010da;

    private SpecRig(ulong capability, ulong extendedCapability, int? hostAddressWidth, RemappingUnitOptions? options = null)
    {
        Capability = capability;
        ExtendedCapability = extendedCapability;
        Memory = new PhysicalMemory(64 * MiB);
        options ??= RemappingUnitOptions.Default;
        Unit = RemappingUnit.CreateAtReset(Memory, capability, extendedCapability,
            hostAddressWidth is int haw ? options with { HostAddressWidth = haw } : options);
        Driver = new SpecDriver(Unit, Memory);
        FaultEvents = EventCounter.Subscribe(Unit, "FaultEvent");
    }

    public ulong Capability { get; }

    public ulong ExtendedCapability { get; }

    public PhysicalMemory Memory { get; }

    public RemappingUnit Unit { get; }

    public SpecDriver Driver { get; }

    public EventCounter FaultEvents { get; }

    /// <summary>The legacy unit: CAP 0xc9008020660262 (SAGAW 39-bit only, no superpages, one fault
    /// record at 0x200), ECAP 0xf010da (QI, IOTLB registers at 0x100), host address width 36.</summary>
    public static SpecRig Legacy() => new(LegacyCapability, LegacyExtendedCapability, 36);

    /// <summary>The legacy unit with more ECAP_REG bits set (e.g. DT, bit 2).</summary>
    public static SpecRig LegacyWith(ulong extraExtendedCapability) => new(LegacyCapability, LegacyExtendedCapability | extraExtendedCapability, 36);

    /// <summary>The scalable unit of the presets (SAGAW 39/48/57, 2 MiB and 1 GiB, eight fault records at 0x400,
    /// IOTLB registers at 0x500, SMTS, 20-bit PASIDs, RID_PASID).</summary>
    public static SpecRig Scalable() => new(
        UnitPresets.ScalableCapability.Encode(), UnitPresets.ScalableExtendedCapability.Encode(), null);

    /// <summary>The scalable unit with other settings (a fake clock for the device-TLB invalidation timeout).</summary>
    public static SpecRig Scalable(RemappingUnitOptions options) => new(
        UnitPresets.ScalableCapability.Encode(), UnitPresets.ScalableExtendedCapability.Encode(), null, options);

    /// <summary>The scalable unit with more ECAP_REG bits set (e.g. ERS, bit 30).</summary>
    public static SpecRig ScalableWith(ulong extraExtendedCapability) => new(
        UnitPresets.ScalableCapability.Encode(), UnitPresets.ScalableExtendedCapability.Encode() | extraExtendedCapability, null);

    public DmaOutcome Dma(ushort sourceId, uint? pasid, ulong iova, DmaAccess access)
    {
        var r = Unit.Translate(sourceId, pasid, iova, access);
        return new DmaOutcome(
            r.IsSuccess,
            r.Hpa,
            Convert.ToUInt64(r.PageSize, CultureInfo.InvariantCulture),
            r.Permissions,
            r.IsSuccess ? 0 : Convert.ToInt32(r.Fault, CultureInfo.InvariantCulture));
    }

    public void Dispose()
    {
        ((object)Unit as IDisposable)?.Dispose();
        Memory.Dispose();
    }
}
