namespace Siov.Fast.Client;

/// <summary>A PASID of a device and the domain attached there.</summary>
/// <param name="Pasid">The PASID.</param>
/// <param name="Domain">The domain's id.</param>
/// <param name="Aux">Whether the domain is an aux domain of the device.</param>
public sealed record DevicePasid(uint Pasid, int Domain, bool Aux);
