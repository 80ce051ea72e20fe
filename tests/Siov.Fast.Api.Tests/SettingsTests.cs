using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Siov.Fast.Api.Infrastructure;

namespace Siov.Fast.Api.Tests;

/// <summary><see cref="SiovOptions"/>: the sources and short forms it binds, and the start-up errors of bad values.</summary>
public sealed class SettingsTests
{
    private static SiovOptions Bind(params (string Key, string Value)[] values)
    {
        IConfiguration configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();
        var options = new SiovOptions();
        SiovOptions.Bind(configuration, options);
        return options;
    }

    [Fact]
    public void ShortForms_AndSections_Bind()
    {
        SiovOptions o = Bind(("dmar", "a.dat"), ("lspci", "l.txt"), ("state-dir", "/tmp/s"), ("ephemeral", "true"),
            ("Siov:Limits:MaxDomains", "7"), ("Siov:State:MaxBytes", "131072"), ("Siov:Sanitize", "true"));
        Assert.Equal(("a.dat", "l.txt", "/tmp/s", true, 7, 131072L, true),
            (o.Dmar, o.Lspci, o.State.Directory, o.State.Ephemeral, o.Limits.MaxDomains, o.State.MaxBytes, o.Sanitize));
    }

    [Fact]
    public void ApiKey_FromSectionOrDoubleUnderscoreVariable_ElseSiovApiKey()
    {
        // SIOV__ApiKey reaches the configuration as "SIOV:ApiKey"; keys are case-insensitive.
        Assert.Equal("a", Bind(("SIOV:ApiKey", "a"), ("SIOV_API_KEY", "b")).ApiKey);
        Assert.Equal("b", Bind(("SIOV_API_KEY", "b")).ApiKey);
        Assert.Null(Bind().ApiKey);
    }

    [Fact]
    public void Validator_NamesEverySetting()
    {
        SiovOptions o = Bind(("Siov:Limits:MaxDomains", "0"), ("Siov:State:MaxBytes", "10"), ("dmesg", "d.txt"));
        ValidateOptionsResult result = new SiovOptionsValidator().Validate(null, o);
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith("Siov:Limits:MaxDomains: ", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("Siov:State:MaxBytes: ", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("--dmesg", StringComparison.Ordinal));
        Assert.True(new SiovOptionsValidator().Validate(null, Bind()).Succeeded);
    }

    [Fact]
    public void Platform_IsAnEmbeddedName_AndNotBesideATable()
    {
        Assert.True(new SiovOptionsValidator().Validate(null, Bind(("platform", "arm-demo"))).Succeeded);
        Assert.Contains(new SiovOptionsValidator().Validate(null, Bind(("platform", "x86-demo"))).Failures!,
            f => f.StartsWith("Siov:Platform: 'x86-demo' is no embedded platform", StringComparison.Ordinal));
        Assert.Contains(new SiovOptionsValidator().Validate(null, Bind(("platform", "arm-demo"), ("dmar", "t.dat"))).Failures!,
            f => f.StartsWith("Siov:Platform: ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("SIOV__Limits__MaxDomains", "0", "Siov:Limits:MaxDomains")]
    [InlineData("SIOV__Limits__MaxBatchesInFlight", "many", "Siov:Limits:MaxBatchesInFlight")]
    public async Task BadSetting_ExitsTwo_WithOneLineNamingIt(string variable, string value, string named)
    {
        (Process process, string? address, string output) = await RealServer.StartAsync(
            new Dictionary<string, string> { [variable] = value }, "--urls=http://127.0.0.1:0", "--ephemeral");
        try
        {
            Assert.True(address == null, $"the server started:\n{output}");
            Assert.Equal(2, process.ExitCode);
            string line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            Assert.StartsWith("siov admin server: ", line, StringComparison.Ordinal);
            Assert.Contains(named, line, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            RealServer.Stop(process);
        }
    }
}
