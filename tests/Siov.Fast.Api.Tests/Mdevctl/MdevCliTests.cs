using System.Diagnostics;
using System.Text.Json.Nodes;
using Siov.Fast.Cli;

namespace Siov.Fast.Api.Tests.Mdevctl;

/// <summary><c>siov mdev ...</c> against a real server process: mdevctl's commands, its JSON through files, and one-line
/// errors ending in the errno name.</summary>
public sealed class MdevCliTests
{
    private const string Uuid = "44444444-0000-0000-0000-000000000001";

    [Fact]
    public async Task Mdevctl_commands_work_against_a_running_server()
    {
        (Process process, string? address, string output) = await RealServer.StartAsync(new Dictionary<string, string>(), "--urls=http://127.0.0.1:0", "--ephemeral");
        string file = Path.GetTempFileName();
        try
        {
            Assert.True(address != null, output);
            Assert.Equal((0, Uuid + "\n", ""), Siov("mdev", "define", "--url", address, "-p", "01:00.0", "-t", "idxd-wq", "-u", Uuid, "--auto"));
            Assert.Equal((0, $"{Uuid} 0000:01:00.0 idxd-wq auto\n", ""), Siov("mdev", "list", "--url", address, "--defined"));
            Assert.Equal(0, Siov("mdev", "start", "--url", address, "-u", Uuid).Code);
            Assert.Equal((0, $"{Uuid} 0000:01:00.0 idxd-wq\n", ""), Siov("mdev", "list", "--url", address));
            Assert.Equal(0, Siov("mdev", "export", "--url", address, file).Code);
            JsonNode exported = JsonNode.Parse(File.ReadAllText(file))!;
            Assert.Equal("auto", exported[0]!["0000:01:00.0"]![0]![Uuid]!["start"]!.GetValue<string>());

            // Stop and undefine, then load the exported file back.
            Assert.Equal(0, Siov("mdev", "stop", "--url", address, "-u", Uuid).Code);
            Assert.Equal(0, Siov("mdev", "undefine", "--url", address, "-u", Uuid).Code);
            Assert.Equal((0, "", ""), Siov("mdev", "list", "--url", address, "--defined"));
            Assert.Equal(0, Siov("mdev", "import", "--url", address, file).Code);
            Assert.Equal(0, Siov("mdev", "modify", "--url", address, "-u", Uuid, "--manual").Code);
            (int code, string json, _) = Siov("mdev", "list", "--url", address, "--defined", "--dumpjson", "-u", Uuid);
            Assert.Equal((0, "manual"), (code, JsonNode.Parse(json)!["start"]!.GetValue<string>()));

            // Errors: one line, the errno name last, exit 2.
            (code, _, string error) = Siov("mdev", "import", "--url", address, file);
            Assert.Equal((2, $"siov: POST /mdev/definitions/import: mdev {Uuid} is defined already (modify or undefine it first): EEXIST\n"), (code, error));
            (code, _, error) = Siov("mdev", "start", "--url", address);
            Assert.Equal((2, "siov: give --uuid UUID: EINVAL\n"), (code, error));
            await File.WriteAllBytesAsync(file, [0xEF, 0x00, 0x1B, 0x5B, 0x32, 0x4A]);
            (code, _, error) = Siov("mdev", "import", "--url", address, file);
            Assert.Equal(2, code);
            Assert.EndsWith(": EINVAL\n", error, StringComparison.Ordinal);
            Assert.DoesNotContain("\u001b", error, StringComparison.Ordinal); // nothing of the file is echoed raw
            (code, _, error) = Siov("mdev", "import", "--url", address, file + ".missing");
            Assert.Equal((2, true), (code, error.EndsWith(": ENOENT\n", StringComparison.Ordinal)));
        }
        finally
        {
            File.Delete(file);
            RealServer.Stop(process);
        }
    }

    [Fact]
    public void No_server_is_a_clean_eio_error()
    {
        (int code, string output, string error) = Siov("mdev", "list", "--url", "http://127.0.0.1:9");
        Assert.Equal((2, ""), (code, output));
        Assert.EndsWith(": EIO\n", error, StringComparison.Ordinal);
    }

    private static (int Code, string Output, string Error) Siov(params string[] args)
    {
        var output = new StringWriter { NewLine = "\n" };
        var error = new StringWriter { NewLine = "\n" };
        int code = SiovCommand.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
