namespace Siov.Fast.Client;

/// <summary>An attachment of a domain.</summary>
/// <param name="Kind">group, aux, aux-group or pasid.</param>
/// <param name="Device">The device, where one is named.</param>
/// <param name="Group">The group, where one is named.</param>
/// <param name="Pasid">The PASID, for aux and PASID attachments.</param>
public sealed record Attachment(string Kind, string? Device, int? Group, uint? Pasid);
