namespace Siov.Fast.Client;

/// <summary>A domain (<c>GET /domains/{id}</c>).</summary>
/// <param name="Id">Its id.</param>
/// <param name="Type">BLOCKED, IDENTITY, UNMANAGED, DMA, NESTED or SVA.</param>
/// <param name="IsAux">Whether it is an aux domain.</param>
/// <param name="Mode">Its translation mode.</param>
/// <param name="Pasid">Its PASID, for an aux domain.</param>
/// <param name="MappedBytes">Bytes mapped, "0x..." hex.</param>
/// <param name="Groups">Groups attached to it.</param>
/// <param name="AuxDevices">Devices it is an aux domain of.</param>
public sealed record DomainInfo(int Id, string Type, bool IsAux, string Mode, uint? Pasid, string MappedBytes,
    IReadOnlyList<int> Groups, IReadOnlyList<string> AuxDevices);
