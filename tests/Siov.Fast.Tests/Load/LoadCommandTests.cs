using Siov.Fast.Load;

namespace Siov.Fast.Tests.Load;

/// <summary>The load tool's command line: a bad option is one line naming the option and the value, exit 2.</summary>
public class LoadCommandTests
{
    [Theory]
    [InlineData(new[] { "--requests", "abc" }, "siov-load: --requests 'abc' is not a whole number: EINVAL")]
    [InlineData(new[] { "--requests", "0" }, "siov-load: --requests 0 is out of range (1 to 9223372036854775807): ERANGE")]
    [InlineData(new[] { "--threads", "two" }, "siov-load: --threads 'two' is not a whole number: EINVAL")]
    [InlineData(new[] { "--threads", "0" }, "siov-load: --threads 0 is out of range (1 to 2147483647): ERANGE")]
    [InlineData(new[] { "--batch", "99999999999" }, "siov-load: --batch 99999999999 is out of range (1 to 1048576): ERANGE")]
    [InlineData(new[] { "--seed", "-1" }, "siov-load: --seed -1 is out of range (0 to 18446744073709551615): ERANGE")]
    [InlineData(new[] { "--seconds", "soon" }, "siov-load: --seconds 'soon' is not a number: EINVAL")]
    [InlineData(new[] { "--seconds", "0" }, "siov-load: --seconds 0 is out of range (must be above 0): ERANGE")]
    [InlineData(new[] { "--churn", "NaN" }, "siov-load: --churn 'NaN' is not a number: EINVAL")]
    [InlineData(new[] { "--warmup", "1e6" }, "siov-load: --warmup '1e6' is not a whole number: EINVAL")]
    [InlineData(new[] { "--iotlb", "-5" }, "siov-load: --iotlb -5 is out of range (0 to 67108864): ERANGE")]
    [InlineData(new[] { "--workload", "hot8k" }, "siov-load: --workload 'hot8k' is not one of hot4k, cold4k, huge2m, siov64: EINVAL")]
    [InlineData(new[] { "--url", "ftp://host" }, "siov-load: --url 'ftp://host' is not an absolute http:// or https:// URL: EINVAL")]
    [InlineData(new[] { "--requests", "10", "--seconds", "1" }, "siov-load: give --requests or --seconds, not both: EINVAL")]
    [InlineData(new[] { "--ats", "--mode", "bare" }, "siov-load: --ats needs --mode inproc (the ATC is in this process), not --mode bare: EINVAL")]
    [InlineData(new[] { "--atc", "-1" }, "siov-load: --atc -1 is out of range (0 to 67108864): ERANGE")]
    public void BadOption_OneLineNamingOptionAndValue_Exit2(string[] args, string expected)
    {
        using var error = new StringWriter();

        int code = LoadCommand.Run(args, error);

        Assert.Equal(2, code);
        Assert.Equal(expected, error.ToString().TrimEnd());
    }

    [Fact]
    public void UnknownOption_OneLine_NoTypeNameOrStackTrace_Exit2()
    {
        using var error = new StringWriter();

        int code = LoadCommand.Run(["--requests", "5", "--bogus"], error);

        Assert.Equal(2, code);
        string line = Assert.Single(error.ToString().TrimEnd().Split('\n'));
        Assert.Contains("--bogus", line, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", line, StringComparison.Ordinal);
    }
}
