using Siov.Fast.Cli;

namespace Siov.Fast.Tests.Platforms;

/// <summary><c>siov sanitizer</c>: the text form of a server's <c>/sanitizer</c> answer, and a clean error when no server answers.</summary>
public class SiovSanitizerCliTests
{
    [Fact]
    public void Format_ShowsEachUnitAndEachReport()
    {
        const string json = """
            [{"unit":"dmar0","enabled":false,"comparisons":0,"stale_translations":0,"reports":[]},
             {"unit":"dmar1","enabled":true,"comparisons":1200,"stale_translations":1,"reports":[
               {"device":"01:00.0","pasid":3,"iova":"0x7010","cache":"iotlb","did":5,
                "missing_invalidation":"PASID-based IOTLB invalidation DID 5 PASID 3 ADDR 0x7000 AM 0","changed_entry":null,
                "text":"stale translation: PASID-based IOTLB invalidation DID 5 PASID 3 ADDR 0x7000 AM 0 missing ..."}]}]
            """;
        string[] lines = SanitizerCommand.Format(json).TrimEnd().Split(Environment.NewLine);
        Assert.Equal("dmar0: sanitizer off", lines[0]);
        Assert.Equal("dmar1: sanitizer on, 1200 comparisons, 1 stale translations", lines[1]);
        Assert.Equal("  stale translation: PASID-based IOTLB invalidation DID 5 PASID 3 ADDR 0x7000 AM 0 missing ...", lines[2]);
    }

    [Fact]
    public void NoServer_IsACleanEioError()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        // Port 9 (discard) on loopback: nothing listens there in the test environment.
        int code = SiovCommand.Run(["sanitizer", "--url", "http://127.0.0.1:9"], output, error);
        Assert.Equal(SiovCommand.BadInput, code);
        Assert.Contains("EIO", error.ToString(), StringComparison.Ordinal);
        Assert.Equal("", output.ToString());
    }
}
