namespace Siov.Fast.Ats;

/// <summary>
/// A page request group response as the function receives it (PCIe PRI "PRG Response Message"): the group it answers
/// (requester id, PASID when the requests carried one, the 9-bit PRG index) and the response code.
/// </summary>
/// <param name="RequesterId">The function (bus:dev.fn as a 16-bit id).</param>
/// <param name="Pasid">The PASID of the group's requests, or null.</param>
/// <param name="GroupIndex">PRG index, 0-511.</param>
/// <param name="Code">Success, invalid request or response failure.</param>
public readonly record struct PageGroupResponse(ushort RequesterId, uint? Pasid, int GroupIndex, PageResponseCode Code);
