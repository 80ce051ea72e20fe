namespace Siov.Fast.Platforms;

/// <summary>Where a device's MSIs go through the IORT: the ITS group and the DeviceID they carry there
/// (see <see cref="IortTable.MapRequesterIdToIts"/>).</summary>
/// <param name="ItsGroup">The ITS group node.</param>
/// <param name="DeviceId">The DeviceID the ITS sees.</param>
public sealed record IortDeviceIdMapping(IortItsGroup ItsGroup, uint DeviceId);
