namespace Siov.Fast.Iommufd;

/// <summary>The answer user space writes for a group (<c>enum iommufd_page_response_code</c>).</summary>
public enum IommufdPageResponseCode
{
    /// <summary><c>IOMMUFD_PAGE_RESP_SUCCESS</c>: the pages are mapped; the device retries.</summary>
    Success = 0,

    /// <summary><c>IOMMUFD_PAGE_RESP_INVALID</c>: the pages cannot be mapped.</summary>
    Invalid = 1,
}
