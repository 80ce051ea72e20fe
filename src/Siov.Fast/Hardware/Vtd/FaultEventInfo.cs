namespace Siov.Fast.Hardware.Vtd;

/// <summary>A fault event (FECTL_REG): the unit recorded a fault, or its fault log overflowed.</summary>
/// <param name="Status">FSTS_REG at the time of the event.</param>
/// <param name="MessageData">FEDATA_REG: the interrupt message data software programmed.</param>
/// <param name="MessageAddress">FEUADDR_REG:FEADDR_REG: the interrupt message address.</param>
public readonly record struct FaultEventInfo(uint Status, uint MessageData, ulong MessageAddress);
