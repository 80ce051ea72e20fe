using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Siov.Fast.Api.Tests.Durability;

/// <summary>
/// kill -9 at random points: a real server process runs a bounded loop of mutating calls, is killed (SIGKILL) at a
/// random moment after the round's first acknowledged call, restarted on the same state directory, and its state is compared with the client's log of
/// acknowledged calls; the call in flight may be there or not, nothing else may differ. Without durability
/// (<c>--ephemeral</c>) the same check fails.
/// </summary>
[Collection(RunsAlone.Name)] // alone: timing on a loaded machine is not what this test measures
public sealed class CrashTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "siov-crash-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Fifty_kills_lose_no_acknowledged_call()
    {
        (List<string> mismatches, int acknowledged) = await RunAsync(kills: 50, seed: 20261130, ephemeral: false);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        Assert.True(acknowledged > 100, $"only {acknowledged} calls were acknowledged: the loop did not run long enough to mean anything");
    }

    [Fact]
    public async Task Without_durability_the_check_fails()
    {
        (List<string> mismatches, _) = await RunAsync(kills: 2, seed: 7, ephemeral: true);
        Assert.NotEmpty(mismatches);
    }

    private async Task<(List<string> Mismatches, int Acknowledged)> RunAsync(int kills, int seed, bool ephemeral)
    {
        var random = new Random(seed);
        var model = new Model();
        var mismatches = new List<string>();
        int acknowledged = 0;
        string[] args = ephemeral ? ["--urls=http://127.0.0.1:0", "--ephemeral"] : ["--urls=http://127.0.0.1:0", "--state-dir", _directory];
        for (int round = 0; round <= kills; round++)
        {
            (Process process, string? address, string output) = await RealServer.StartAsync(new Dictionary<string, string>(), args);
            try
            {
                Assert.True(address != null, $"round {round}: the server did not start:\n{output}");
                using var client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(20) };
                Model actual = await Model.ReadAsync(client);
                if (!model.SameAs(actual) && (model.Pending == null || !model.With(model.Pending).SameAs(actual)))
                    mismatches.Add($"after kill {round}: expected\n{model}\n(pending: {model.Pending?.ToString() ?? "none"})\nserver has\n{actual}");
                model = actual; // go on from what the server holds
                if (round == kills)
                    break;
                // Mutate until killed: the kill comes 0-250 ms after the round's first acknowledged call (so a loaded
                // machine, where a fresh server answers its first calls slowly, still kills in the middle of the work).
                using var loop = new CancellationTokenSource();
                var firstAck = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Task<int> mutations = MutateAsync(client, model, new Random(random.Next()), firstAck, loop.Token);
                await Task.WhenAny(firstAck.Task, mutations, Task.Delay(TimeSpan.FromSeconds(30)));
                await Task.Delay(random.Next(250));
                process.Kill(entireProcessTree: true); // SIGKILL
                await process.WaitForExitAsync();
                await loop.CancelAsync();
                acknowledged += await mutations;
            }
            finally
            {
                RealServer.Stop(process);
            }
        }
        return (mismatches, acknowledged);
    }

    /// <summary>Random calls until one fails to answer; each acknowledged call is applied to the model, the one in
    /// flight is left in <see cref="Model.Pending"/>. Returns the number acknowledged.</summary>
    private static async Task<int> MutateAsync(HttpClient client, Model model, Random random, TaskCompletionSource firstAck, CancellationToken cancellation)
    {
        int count = 0;
        try
        {
            while (!cancellation.IsCancellationRequested)
            {
                Operation op = model.NextOperation(random);
                model.Pending = op;
                int? createdId = await op.SendAsync(client, cancellation);
                model.Apply(op, createdId);
                model.Pending = null;
                count++;
                firstAck.TrySetResult();
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or OperationCanceledException or IOException)
        {
            // The server died under the call: it stays pending.
        }
        return count;
    }

    /// <summary>One mutating call: create or delete a domain, map or unmap a 4 KiB page, create or remove an mdev.</summary>
    private sealed record Operation(string Kind, int Domain = 0, ulong Iova = 0, ulong Hpa = 0, Guid Mdev = default)
    {
        public async Task<int?> SendAsync(HttpClient client, CancellationToken cancellation)
        {
            (HttpMethod method, string path, string? body, HttpStatusCode expected) = Kind switch
            {
                "create-domain" => (HttpMethod.Post, "/domains", """{"type":"UNMANAGED"}""", HttpStatusCode.Created),
                "delete-domain" => (HttpMethod.Delete, $"/domains/{Domain}", null, HttpStatusCode.NoContent),
                "map" => (HttpMethod.Post, $"/domains/{Domain}/mappings", $$"""{"iova":"0x{{Iova:x}}","hpa":"0x{{Hpa:x}}","size":"0x1000"}""", HttpStatusCode.Created),
                "unmap" => (HttpMethod.Delete, $"/domains/{Domain}/mappings?iova=0x{Iova:x}&size=0x1000", null, HttpStatusCode.OK),
                "create-mdev" => (HttpMethod.Post, "/mdevs", $$"""{"parent":"01:00.0","type":"idxd-wq","uuid":"{{Mdev}}"}""", HttpStatusCode.Created),
                _ => (HttpMethod.Delete, $"/mdevs/{Mdev}", null, HttpStatusCode.NoContent),
            };
            using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
            if (body != null)
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            using HttpResponseMessage response = await client.SendAsync(request, cancellation);
            string text = await response.Content.ReadAsStringAsync(cancellation);
            if (response.StatusCode != expected)
                throw new InvalidOperationException($"{this}: {(int)response.StatusCode} {text}"); // a bug in the model or the server
            return Kind == "create-domain" ? JsonDocument.Parse(text).RootElement.GetProperty("id").GetInt32() : null;
        }
    }

    /// <summary>What the client believes: its UNMANAGED domains with their 4 KiB mappings, and its mdevs.</summary>
    private sealed class Model
    {
        private const ulong IovaBase = 0x1000_0000;

        public SortedDictionary<int, SortedDictionary<ulong, ulong>> Domains { get; } = [];

        public SortedSet<Guid> Mdevs { get; } = [];

        public Operation? Pending { get; set; }

        public Operation NextOperation(Random random)
        {
            int choice = random.Next(100);
            if (Domains.Count == 0 || (choice < 8 && Domains.Count < 6))
                return new Operation("create-domain");
            int domain = Domains.Keys.ElementAt(random.Next(Domains.Count));
            SortedDictionary<ulong, ulong> pages = Domains[domain];
            if (choice < 12)
                return new Operation("delete-domain", domain);
            if (choice < 20)
                return Mdevs.Count < 4 ? new Operation("create-mdev", Mdev: Guid.NewGuid()) : new Operation("remove-mdev", Mdev: Mdevs.First());
            if (choice < 25 && Mdevs.Count > 0)
                return new Operation("remove-mdev", Mdev: Mdevs.ElementAt(random.Next(Mdevs.Count)));
            if (choice < 65 && pages.Count < 48)
            {
                ulong iova;
                do
                    iova = IovaBase + (ulong)random.Next(64) * 0x1000;
                while (pages.ContainsKey(iova));
                return new Operation("map", domain, iova, 0x4000_0000 + (ulong)random.Next(1 << 16) * 0x1000);
            }
            return pages.Count == 0 ? new Operation("delete-domain", domain) : new Operation("unmap", domain, pages.Keys.ElementAt(random.Next(pages.Count)));
        }

        public void Apply(Operation op, int? createdId)
        {
            switch (op.Kind)
            {
                case "create-domain": Domains[createdId ?? NextUnknownId()] = []; break;
                case "delete-domain": Domains.Remove(op.Domain); break;
                case "map": Domains[op.Domain][op.Iova] = op.Hpa; break;
                case "unmap": Domains[op.Domain].Remove(op.Iova); break;
                case "create-mdev": Mdevs.Add(op.Mdev); break;
                default: Mdevs.Remove(op.Mdev); break;
            }
        }

        /// <summary>A copy with the call in flight applied (a created domain's id is not known: it is marked -1).</summary>
        public Model With(Operation op)
        {
            var copy = new Model();
            foreach ((int id, SortedDictionary<ulong, ulong> pages) in Domains)
                copy.Domains[id] = new SortedDictionary<ulong, ulong>(pages);
            copy.Mdevs.UnionWith(Mdevs);
            copy.Apply(op, null);
            return copy;
        }

        private static int NextUnknownId() => -1;

        /// <summary>Equal, where a domain the model knows as -1 matches any one domain id the other has that it lacks.</summary>
        public bool SameAs(Model other)
        {
            if (!Mdevs.SetEquals(other.Mdevs) || Domains.Count != other.Domains.Count)
                return false;
            foreach ((int id, SortedDictionary<ulong, ulong> pages) in Domains)
            {
                SortedDictionary<ulong, ulong>? theirs = id >= 0 ? other.Domains.GetValueOrDefault(id)
                    : other.Domains.Where(d => !Domains.ContainsKey(d.Key)).Select(d => d.Value).FirstOrDefault();
                if (theirs == null || !pages.SequenceEqual(theirs))
                    return false;
            }
            return true;
        }

        public static async Task<Model> ReadAsync(HttpClient client)
        {
            var model = new Model();
            using JsonDocument domains = JsonDocument.Parse(await client.GetStringAsync(new Uri("/domains", UriKind.Relative)));
            foreach (JsonElement domain in domains.RootElement.EnumerateArray().Where(d => d.GetProperty("type").GetString() == "UNMANAGED"))
            {
                int id = domain.GetProperty("id").GetInt32();
                using JsonDocument mappings = JsonDocument.Parse(await client.GetStringAsync(new Uri($"/domains/{id}/mappings?limit=65536", UriKind.Relative)));
                model.Domains[id] = new SortedDictionary<ulong, ulong>(mappings.RootElement.EnumerateArray().ToDictionary(
                    m => Convert.ToUInt64(m.GetProperty("iova").GetString(), 16), m => Convert.ToUInt64(m.GetProperty("hpa").GetString(), 16)));
            }
            using JsonDocument mdevs = JsonDocument.Parse(await client.GetStringAsync(new Uri("/mdevs", UriKind.Relative)));
            model.Mdevs.UnionWith(mdevs.RootElement.EnumerateArray().Select(m => Guid.Parse(m.GetProperty("uuid").GetString()!)));
            return model;
        }

        public override string ToString() =>
            string.Join("; ", Domains.Select(d => $"domain {d.Key}: {d.Value.Count} pages [{string.Join(" ", d.Value.Select(p => $"{p.Key:x}->{p.Value:x}"))}]"))
            + $"; mdevs {string.Join(" ", Mdevs)}";
    }
}
