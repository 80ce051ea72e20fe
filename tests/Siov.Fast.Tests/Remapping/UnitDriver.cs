using System.Runtime.CompilerServices;
using Siov.Fast.Drivers.IntelVtd;
using Siov.Fast.Hardware.Vtd;
using Siov.Fast.PageTables;

namespace Siov.Fast.Tests.Remapping;

/// <summary>
/// The hardware tests program a unit through one <see cref="IntelIommu"/> driver per unit, created on first use,
/// with the driver's own calls spelled on the unit: <c>unit.AttachDevice(...)</c> is
/// <c>unit.Driver().AttachDevice(...)</c>. Units registered with an IommuCore are programmed by the core's driver
/// instead (<c>core.GetDriver(unit)</c>).
/// </summary>
internal static class UnitDriver
{
    private static readonly ConditionalWeakTable<RemappingUnit, IntelIommu> Drivers = [];

    public static IntelIommu Driver(this RemappingUnit unit) =>
        Drivers.GetValue(unit, u => new IntelIommu(u, u.Memory, u.Options.HostAddressWidth, u.Options.ScalableMode));

    public static void AttachDevice(this RemappingUnit unit, ushort requesterId, ushort domainId, SecondLevelPageTable? table) =>
        unit.Driver().AttachDevice(requesterId, domainId, table);

    public static void DetachDevice(this RemappingUnit unit, ushort requesterId) => unit.Driver().DetachDevice(requesterId);

    public static void SetupContextSecondLevel(this RemappingUnit unit, ushort requesterId, ushort domainId, SecondLevelPageTable table, bool faultProcessingDisable = false) =>
        unit.Driver().SetupContextSecondLevel(requesterId, domainId, table, faultProcessingDisable);

    public static void SetupContextPassThrough(this RemappingUnit unit, ushort requesterId, ushort domainId) =>
        unit.Driver().SetupContextPassThrough(requesterId, domainId);

    public static void ClearContextEntry(this RemappingUnit unit, ushort requesterId) => unit.Driver().ClearContextEntry(requesterId);

    public static void SetupScalableContext(this RemappingUnit unit, ushort requesterId, uint ridPasid = 0) =>
        unit.Driver().SetupScalableContext(requesterId, ridPasid);

    public static void SetupPasidSecondLevel(this RemappingUnit unit, ushort requesterId, uint pasid, ushort domainId, SecondLevelPageTable table, bool faultProcessingDisable = false) =>
        unit.Driver().SetupPasidSecondLevel(requesterId, pasid, domainId, table, faultProcessingDisable);

    public static void SetupPasidPassThrough(this RemappingUnit unit, ushort requesterId, uint pasid, ushort domainId) =>
        unit.Driver().SetupPasidPassThrough(requesterId, pasid, domainId);

    public static void TearDownPasidEntry(this RemappingUnit unit, ushort requesterId, uint pasid) => unit.Driver().TearDownPasidEntry(requesterId, pasid);

    public static ushort? GetPasidDomain(this RemappingUnit unit, ushort requesterId, uint pasid) => unit.Driver().GetPasidDomain(requesterId, pasid);

    public static ulong? GetContextEntryAddress(this RemappingUnit unit, ushort requesterId) => unit.Driver().GetContextEntryAddress(requesterId);

    public static ulong? GetPasidEntryAddress(this RemappingUnit unit, ushort requesterId, uint pasid) => unit.Driver().GetPasidEntryAddress(requesterId, pasid);
}
