using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Siov.Fast.Cli;

/// <summary>
/// <c>siov mdev ...</c>: mdevctl's commands against a running admin server (<c>/mdevs</c>, <c>/mdev/definitions</c>):
/// <c>list</c> (running, or <c>--defined</c>; <c>--dumpjson</c> prints mdevctl's JSON), <c>define</c>, <c>undefine</c>,
/// <c>modify</c>, <c>start</c>, <c>stop</c>, <c>import FILE</c> (mdevctl's <c>--dumpjson</c> list, or one config with
/// <c>--parent</c> and <c>--uuid</c>) and <c>export [FILE]</c>. Mutating calls send the API key from <c>--api-key</c>
/// or <c>SIOV_API_KEY</c>. Errors are one line ending in the server's errno name.
/// </summary>
public static class MdevCommand
{
    /// <summary>Largest file <c>import</c> reads: 1 MiB (the server's own limit is smaller).</summary>
    public const long MaxImportBytes = 1 << 20;

    /// <summary>The <c>mdev</c> command and its subcommands.</summary>
    /// <param name="url">The shared <c>--url</c> option.</param>
    /// <param name="output">Where results go.</param>
    /// <param name="error">Where one-line errors go.</param>
    /// <returns>The command.</returns>
    public static Command Create(Option<string> url, TextWriter output, TextWriter error)
    {
        var apiKey = new Option<string?>("--api-key") { Description = "the server's API key (default: $SIOV_API_KEY)" };
        var uuid = new Option<string?>("--uuid", "-u") { Description = "the mdev's UUID" };
        var parent = new Option<string?>("--parent", "-p") { Description = "the parent device (a PCI address)" };
        var type = new Option<string?>("--type", "-t") { Description = "the mdev type, e.g. idxd-wq" };
        var auto = new Option<bool>("--auto", "-a") { Description = "start with the server (start: auto)" };
        var manual = new Option<bool>("--manual", "-m") { Description = "start when asked (start: manual)" };
        var defined = new Option<bool>("--defined", "-d") { Description = "list defined mdevs instead of running ones" };
        var dumpJson = new Option<bool>("--dumpjson") { Description = "print mdevctl's JSON" };
        var file = new Argument<FileInfo>("FILE") { Description = "mdevctl's JSON" };
        var outFile = new Argument<FileInfo?>("FILE") { Description = "where to write (default: standard output)", Arity = ArgumentArity.ZeroOrOne };

        var mdev = new Command("mdev", "mdevctl's commands against a running admin server");
        Command Sub(string name, string description, Func<ParseResult, Client, int> action, params Symbol[] symbols)
        {
            var command = new Command(name, description);
            command.Options.Add(url);
            command.Options.Add(apiKey);
            foreach (Symbol symbol in symbols)
            {
                if (symbol is Option option)
                    command.Options.Add(option);
                else
                    command.Arguments.Add((Argument)symbol);
            }
            command.SetAction(result =>
            {
                string text = result.GetValue(url) ?? "";
                if (!Uri.TryCreate(text, UriKind.Absolute, out Uri? address) || address.Scheme is not ("http" or "https"))
                {
                    error.WriteLine($"siov: --url '{text}' is not an http:// or https:// address: EINVAL");
                    return SiovCommand.BadInput;
                }
                using var client = new Client(address, result.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("SIOV_API_KEY"), output, error);
                try
                {
                    return action(result, client);
                }
                catch (ArgumentException e)
                {
                    return client.Fail(e.Message, "EINVAL");
                }
            });
            mdev.Subcommands.Add(command);
            return command;
        }

        string? Start(ParseResult r) => r.GetValue(auto) ? "auto" : r.GetValue(manual) ? "manual" : null;
        Sub("list", "List running mdevs, or defined ones with --defined (mdevctl list)", (r, c) => List(c, r.GetValue(defined), r.GetValue(dumpJson), r.GetValue(uuid)),
            defined, dumpJson, uuid);
        Sub("define", "Define an mdev (mdevctl define); -u alone defines a running one as it is", (r, c) =>
        {
            var body = new JsonObject { ["uuid"] = r.GetValue(uuid), ["parent"] = r.GetValue(parent), ["mdev_type"] = r.GetValue(type), ["start"] = Start(r) };
            return c.Send(HttpMethod.Post, "/mdev/definitions", body.ToJsonString(), printUuid: true);
        }, uuid, parent, type, auto, manual);
        Sub("undefine", "Forget a definition (mdevctl undefine)", (r, c) => c.Send(HttpMethod.Delete, $"/mdev/definitions/{Required(r.GetValue(uuid))}", null), uuid);
        Sub("modify", "Change a definition (mdevctl modify); it takes effect at the next start", (r, c) =>
        {
            var body = new JsonObject { ["parent"] = r.GetValue(parent), ["mdev_type"] = r.GetValue(type), ["start"] = Start(r) };
            return c.Send(HttpMethod.Patch, $"/mdev/definitions/{Required(r.GetValue(uuid))}", body.ToJsonString());
        }, uuid, parent, type, auto, manual);
        Sub("start", "Start a defined mdev (mdevctl start -u)", (r, c) => c.Send(HttpMethod.Post, $"/mdev/definitions/{Required(r.GetValue(uuid))}/start", null), uuid);
        Sub("stop", "Stop a running mdev (mdevctl stop -u)", (r, c) => c.Send(HttpMethod.Post, $"/mdev/definitions/{Required(r.GetValue(uuid))}/stop", null), uuid);
        Sub("import", "Define the mdevs of mdevctl's --dumpjson list FILE, or of one config FILE with --parent and --uuid", (r, c) =>
            Import(c, r.GetValue(file)!, r.GetValue(parent), r.GetValue(uuid)), file, parent, uuid);
        Sub("export", "Write the definitions as mdevctl list --defined --dumpjson does", (r, c) => Export(c, r.GetValue(outFile)), outFile);
        return mdev;
    }

    private static string Required(string? uuid) =>
        uuid ?? throw new ArgumentException("give --uuid UUID");

    private static int List(Client client, bool defined, bool dumpJson, string? uuid)
    {
        if (dumpJson)
        {
            if (!defined)
                return client.Fail("--dumpjson lists definitions: add --defined", "EINVAL");
            string path = uuid == null ? "/mdev/definitions/export" : $"/mdev/definitions/{uuid}?format=mdevctl";
            return client.Get(path, body => client.Output.WriteLine(body));
        }
        return client.Get(defined ? "/mdev/definitions" : "/mdevs", body =>
        {
            using JsonDocument doc = JsonDocument.Parse(body);
            foreach (JsonElement m in doc.RootElement.EnumerateArray())
            {
                string id = m.GetProperty("uuid").GetString()!;
                if (uuid != null && !string.Equals(uuid, id, StringComparison.OrdinalIgnoreCase))
                    continue;
                // mdevctl's columns: UUID PARENT TYPE, then start (defined) or "(defined)" marks.
                string line = defined
                    ? $"{id} {m.GetProperty("parent").GetString()} {m.GetProperty("mdev_type").GetString()} {m.GetProperty("start").GetString()}{(m.GetProperty("active").GetBoolean() ? " (active)" : "")}"
                    : $"{id} {m.GetProperty("parent").GetString()} {m.GetProperty("type").GetString()}";
                client.Output.WriteLine(line);
            }
        });
    }

    private static int Import(Client client, FileInfo file, string? parent, string? uuid)
    {
        string text;
        try
        {
            if (!file.Exists)
                return client.Fail($"{file.FullName}: no such file", "ENOENT");
            if (file.Length > MaxImportBytes)
                return client.Fail($"{file.FullName}: {file.Length} bytes; mdevctl JSON over {MaxImportBytes} bytes is not read", "E2BIG");
            text = File.ReadAllText(file.FullName);
            using JsonDocument _ = JsonDocument.Parse(text); // a clear local error before the server sees it
        }
        catch (JsonException e)
        {
            return client.Fail($"{file.FullName}: not JSON ({e.Message})", "EINVAL");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return client.Fail($"{file.FullName}: {e.Message}", "EIO");
        }
        var query = new StringBuilder("/mdev/definitions/import");
        if (parent != null || uuid != null)
            query.Append(CultureInfo.InvariantCulture, $"?parent={Uri.EscapeDataString(parent ?? "")}&uuid={Uri.EscapeDataString(uuid ?? "")}");
        return client.Send(HttpMethod.Post, query.ToString(), text);
    }

    private static int Export(Client client, FileInfo? file) => client.Get("/mdev/definitions/export", body =>
    {
        if (file == null)
            client.Output.WriteLine(body);
        else
            File.WriteAllText(file.FullName, body + "\n");
    });

    /// <summary>One server, its key, and the one-line error convention.</summary>
    private sealed class Client(Uri address, string? apiKey, TextWriter output, TextWriter error) : IDisposable
    {
        private readonly HttpClient _http = new() { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };

        public TextWriter Output => output;

        public int Get(string path, Action<string> print) => Call(HttpMethod.Get, path, null, print);

        public int Send(HttpMethod method, string path, string? json, bool printUuid = false) => Call(method, path, json, body =>
        {
            if (printUuid && body.Length > 0)
            {
                using JsonDocument doc = JsonDocument.Parse(body);
                output.WriteLine(doc.RootElement.GetProperty("uuid").GetString());
            }
        });

        public int Fail(string message, string code)
        {
            error.WriteLine($"siov: {message}: {code}");
            return SiovCommand.BadInput;
        }

        private int Call(HttpMethod method, string path, string? json, Action<string> print)
        {
            try
            {
                using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
                if (json != null)
                    request.Content = new StringContent(json, Encoding.UTF8, "application/json");
                if (apiKey != null && method != HttpMethod.Get)
                    request.Headers.Add("X-Api-Key", apiKey);
                using HttpResponseMessage response = _http.Send(request);
                string body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
                if (!response.IsSuccessStatusCode)
                {
                    // A problem body names the errno and says what was wrong.
                    string detail = $"the server answered {(int)response.StatusCode}", code = "EIO";
                    try
                    {
                        using JsonDocument problem = JsonDocument.Parse(body);
                        detail = problem.RootElement.GetProperty("detail").GetString() ?? detail;
                        code = problem.RootElement.GetProperty("code").GetString() ?? code;
                    }
                    catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
                    {
                    }
                    // The detail starts with the errno name already: print it once, at the end, as every siov error does.
                    if (detail.StartsWith(code + ": ", StringComparison.Ordinal))
                        detail = detail[(code.Length + 2)..];
                    return Fail($"{method} {path}: {detail}", code);
                }
                print(body);
                return 0;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return Fail($"{address}: {e.Message}", "EIO");
            }
            catch (ArgumentException e)
            {
                return Fail(e.Message, "EINVAL");
            }
        }

        public void Dispose() => _http.Dispose();
    }
}
