using Siov.Fast.Ats;

namespace Siov.Fast.Hardware.Vtd;

/// <summary>
/// The page request descriptor the unit writes into the page request queue (VT-d spec 7.5.1.1, 32 bytes), and the page
/// group response descriptor software puts on the invalidation queue to answer a group (type 9, spec 6.5.2.x). Each field
/// is defined once here and used to encode, decode and print (Linux's <c>decode_prq_descriptor</c> format).
/// </summary>
public static class PageRequestDescriptor
{
    /// <summary>Bytes per page request descriptor.</summary>
    public const int Size = 32;

    /// <summary>The type value of a page request (qword 0 bits 7:0).</summary>
    public const int PageRequestType = 1;

    /// <summary>Type, qword 0 bits 7:0.</summary>
    public static readonly RegisterField TypeField = new(0, 8);

    /// <summary>PASID present, qword 0 bit 8.</summary>
    public static readonly RegisterField PasidPresentField = new(8, 1);

    /// <summary>Private data present, qword 0 bit 9 (qwords 2 and 3 hold it).</summary>
    public static readonly RegisterField PrivateDataPresentField = new(9, 1);

    /// <summary>Requester id, qword 0 bits 31:16.</summary>
    public static readonly RegisterField RequesterIdField = new(16, 16);

    /// <summary>PASID, qword 0 bits 51:32.</summary>
    public static readonly RegisterField PasidField = new(32, 20);

    /// <summary>Execute requested, qword 0 bit 52.</summary>
    public static readonly RegisterField ExecuteField = new(52, 1);

    /// <summary>Privileged mode requested, qword 0 bit 53.</summary>
    public static readonly RegisterField PrivilegedField = new(53, 1);

    /// <summary>Read requested, qword 1 bit 0.</summary>
    public static readonly RegisterField ReadField = new(0, 1);

    /// <summary>Write requested, qword 1 bit 1.</summary>
    public static readonly RegisterField WriteField = new(1, 1);

    /// <summary>LPIG: last page request in the group, qword 1 bit 2.</summary>
    public static readonly RegisterField LastInGroupField = new(2, 1);

    /// <summary>PRG index, qword 1 bits 11:3.</summary>
    public static readonly RegisterField GroupIndexField = new(3, 9);

    /// <summary>The page address, qword 1 bits 63:12.</summary>
    public static readonly RegisterField AddressField = new(12, 52);

    /// <summary>Page group response descriptor: PASID present, qword 0 bit 4.</summary>
    public static readonly RegisterField ResponsePasidPresentField = new(4, 1);

    /// <summary>Page group response descriptor: private data present, qword 0 bit 5.</summary>
    public static readonly RegisterField ResponsePrivateDataPresentField = new(5, 1);

    /// <summary>Page group response descriptor: response code, qword 0 bits 15:12.</summary>
    public static readonly RegisterField ResponseCodeField = new(12, 4);

    /// <summary>Page group response descriptor: requester id, qword 0 bits 31:16.</summary>
    public static readonly RegisterField ResponseRequesterIdField = new(16, 16);

    /// <summary>Page group response descriptor: PASID, qword 0 bits 51:32.</summary>
    public static readonly RegisterField ResponsePasidField = new(32, 20);

    /// <summary>Page group response descriptor: LPIG, qword 1 bit 2.</summary>
    public static readonly RegisterField ResponseLastInGroupField = new(2, 1);

    /// <summary>Page group response descriptor: PRG index, qword 1 bits 11:3.</summary>
    public static readonly RegisterField ResponseGroupIndexField = new(3, 9);

    /// <summary>The first two qwords of a page request descriptor.</summary>
    /// <param name="request">The request.</param>
    /// <returns>Qwords 0 and 1 (2 and 3, private data, are zero).</returns>
    public static (ulong Q0, ulong Q1) Encode(in PageRequest request) => (
        TypeField.Encode(PageRequestType) | PasidPresentField.Encode(request.Pasid.HasValue ? 1UL : 0)
            | RequesterIdField.Encode(request.RequesterId) | PasidField.Encode(request.Pasid ?? 0)
            | ExecuteField.Encode(request.Execute ? 1UL : 0) | PrivilegedField.Encode(request.Privileged ? 1UL : 0),
        ReadField.Encode(request.Read ? 1UL : 0) | WriteField.Encode(request.Write ? 1UL : 0)
            | LastInGroupField.Encode(request.LastInGroup ? 1UL : 0) | GroupIndexField.Encode((ulong)request.GroupIndex)
            | (request.Address & AddressField.Mask));

    /// <summary>Decodes a page request descriptor.</summary>
    /// <param name="q0">Qword 0.</param>
    /// <param name="q1">Qword 1.</param>
    /// <returns>The request.</returns>
    public static PageRequest Decode(ulong q0, ulong q1) => new(
        (ushort)RequesterIdField.Get(q0), PasidPresentField.IsSet(q0) ? (uint)PasidField.Get(q0) : null, q1 & AddressField.Mask,
        ReadField.IsSet(q1), WriteField.IsSet(q1), ExecuteField.IsSet(q0), PrivilegedField.IsSet(q0), (int)GroupIndexField.Get(q1),
        LastInGroupField.IsSet(q1));

    /// <summary>A descriptor as Linux's <c>decode_prq_descriptor</c> prints it (the <c>prq_report</c> trace event):
    /// <c>rid=0x300 addr=0x12345 rw--l pasid=0x5 index=0x1</c>, the address as a page number.</summary>
    /// <param name="q0">Qword 0.</param>
    /// <param name="q1">Qword 1.</param>
    /// <returns>The text.</returns>
    public static string Describe(ulong q0, ulong q1) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"rid=0x{RequesterIdField.Get(q0):x} addr=0x{AddressField.Get(q1):x} {(ReadField.IsSet(q1) ? 'r' : '-')}{(WriteField.IsSet(q1) ? 'w' : '-')}"
        + $"{(ExecuteField.IsSet(q0) ? 'x' : '-')}{(PrivilegedField.IsSet(q0) ? 'p' : '-')}{(LastInGroupField.IsSet(q1) ? 'l' : '-')}"
        + $" pasid=0x{PasidField.Get(q0):x} index=0x{GroupIndexField.Get(q1):x}");
}
