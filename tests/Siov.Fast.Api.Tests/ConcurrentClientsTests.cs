using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Siov.Fast.Api.Tests;

/// <summary>
/// Hostile clients, concurrently: a bounded run of <see cref="TenantCount"/> clients against one fresh server, each
/// one doing VFIO container work (open, set groups: mdevs of 01:00.0, the NIC's group, the 03:00.x group; map and unmap
/// DMA, take groups out, close), plain <c>/domains</c> work (create, map, attach, detach, free), mdev create and remove,
/// reads and translations, and attacks on what other clients' containers own (their groups and domains through
/// <c>/domains</c>, their mdevs, stealing their groups), which must all answer 409 EBUSY naming the owner.
/// </summary>
/// <remarks>
/// <para>Each client keeps its own log of what it holds (containers, their groups, their mappings; its domains and
/// mdevs) and publishes, under its gate, what its containers own; an attacker holds the victim's gate while it
/// attacks, so the victim cannot let go of the target meanwhile and the only right answer is EBUSY.</para>
/// <para>Checked all along: no answer is 5xx; every answer of 400 or more is <c>application/problem+json</c> with a
/// string <c>code</c> and a matching <c>status</c>. Checked at the end, live and after each stage of cleanup:
/// translations agree with the clients' logs (every client's HPAs lie in its own range, so a crossed translation
/// shows), no orphan (every group in a container is listed by exactly one existing container, every owned domain
/// belongs to an existing container that lists it), and nothing is left once all is closed (no group in a container,
/// no mdev group attached, no PASID on 01:00.0). Violations are collected with the client's last requests, and
/// reported together with a summary of what ran.</para>
/// <para>The run stops by itself: at most <see cref="MaxOpsPerTenant"/> operations per client and at most
/// <see cref="RunCap"/> of wall time. <c>SIOV_CONCURRENT_SEED</c> overrides the seed.</para>
/// </remarks>
public sealed class ConcurrentClientsTests(ITestOutputHelper output) : ApiTestHost(
    ("Siov:Limits:MaxContainers", "15"), ("Siov:Limits:MaxDomains", "24"))
{
    // Limits low enough that the clients run into them (409 ENOSPC): 10 clients want up to 20 containers and
    // 20 domains of their own besides the containers' ones.
    private const int MaxContainers = 15;
    private const int MaxDomains = 24;
    private const int TenantCount = 10;
    private const int MaxOpsPerTenant = 800;
    private const int DefaultSeed = 20_250_611;
    private const string Parent = "01:00.0";
    private const ulong SlotSize = 0x20_0000;           // one mapping per 2 MiB IOVA slot
    private const int Slots = 16;                         // IOVAs 0 .. 32 MiB
    private const ulong OutsideIova = 0x3000_0000;        // beyond every slot: must always fault
    private const ulong HpaBase = 0x100_0000_0000;        // tenant k's HPAs: HpaBase + k * TenantSpan ...
    private const ulong TenantSpan = 0x10_0000_0000;
    private const ulong RegionSpan = 0x1000_0000;         // ... one region per container or domain
    private const ulong DomainRegions = 0xF_0000_0000;    // container regions below, domain regions above

    private static readonly ulong[] Sizes = [0x1000, 0x3000, 0x10_0000, 0x20_0000];

    private static readonly string[] AttackNames =
    [
        "domain-map", "domain-unmap", "domain-free", "domain-attach-other-group", "domain-detach-group", "group-move-to-other-domain",
        "domain-attach-pasid", "mdev-remove-or-default-detach", "group-steal-into-container", "get-group-owner", "get-domain-owner",
    ];
    private static readonly TimeSpan RunCap = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan GateWait = TimeSpan.FromMilliseconds(50); // an attacker waits this long for its victim's gate

    private readonly ConcurrentDictionary<string, int> ops = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> statuses = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> conflicts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> violations = new();
    private readonly ConcurrentBag<int> closedContainerDomains = [];
    private readonly ServerErrors serverErrors = new();
    private int requests;

    // Learnt at start.
    private int nicGroup, fnGroup, sataGroup;
    private string[] nicDevices = [], fnDevices = [];
    private readonly Dictionary<int, int> defaultDomainOf = [];

    [Fact]
    public async Task ConcurrentClients_ContainersDomainsMdevs_OwnershipAndTranslationsHold()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("SIOV_CONCURRENT_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int s) ? s : DefaultSeed;
        Factory.Services.GetRequiredService<ILoggerFactory>().AddProvider(serverErrors);
        var clock = Stopwatch.StartNew();
        await SetUpAsync();

        var tenants = Enumerable.Range(0, TenantCount).Select(k => new Tenant(k, new Random(seed + (k * 7919)))).ToArray();
        Task[] running = [.. tenants.Select(t => Task.Run(() => RunTenantAsync(t, tenants, clock)))];
        Task all = Task.WhenAll(running);
        if (await Task.WhenAny(all, Task.Delay(HangGuard)) != all)
            Assert.Fail($"the clients did not stop within {HangGuard.TotalSeconds} s (a hang); violations so far:\n{string.Join("\n", violations)}");
        await all;
        TimeSpan runTime = clock.Elapsed;

        // Live: every client checks what it holds, then the whole state is checked for orphans.
        foreach (Tenant t in tenants)
        {
            foreach (HeldContainer c in t.Containers)
                await VerifyContainerAsync(t, c, everyMapping: true, "end, live");
            foreach (OwnDomain d in t.Domains)
                await VerifyOwnDomainAsync(t, d, "end, live");
        }
        await CheckNoOrphansAsync(tenants, "end, live");

        // Every client closes its containers: then no group is in a container and no PASID is left from them.
        var closed = new List<(Tenant T, HeldContainer C, uint[] Pasids)>();
        foreach (Tenant t in tenants)
        {
            foreach (HeldContainer c in t.Containers.ToArray())
                closed.Add((t, c, await ContainerPasidsAsync(c)));
            foreach (HeldContainer c in t.Containers.ToArray())
                await CloseContainerAsync(t, c, "cleanup");
        }
        await CheckNoOrphansAsync(tenants, "after every container is closed");
        await CheckClosedContainersFaultAsync(tenants, closed);

        // Every client lets go of its domains and mdevs: nothing may be left.
        foreach (Tenant t in tenants)
        {
            foreach (OwnDomain d in t.Domains.ToArray())
            {
                foreach (int g in d.Physical.ToArray())
                    await DomainDetachAsync(t, d, g);
                foreach (int g in d.Mdevs.Keys.ToArray())
                    await DomainDetachAsync(t, d, g);
                await DomainDeleteAsync(t, d);
            }
        }
        await CheckNothingAttachedAsync("after every domain is freed");
        foreach (Tenant t in tenants)
        {
            foreach (OwnMdev m in t.MdevList.ToArray())
                await RemoveMdevAsync(t, m);
        }
        await CheckEmptyAsync();
        await CheckLimitsFreeAsync();

        Summarize(tenants, runTime, clock.Elapsed, seed);
        Assert.True(violations.IsEmpty, $"{violations.Count} violation(s) (seed {seed}):\n\n{string.Join("\n\n", violations.Take(25))}");
    }

    // ---------------------------------------------------------------- set-up and the run

    private async Task SetUpAsync()
    {
        await ReadJsonAsync(await PostAsync($"/devices/{Parent}/features/aux"));
        nicGroup = await DeviceGroupAsync("02:00.0");
        fnGroup = await DeviceGroupAsync("03:00.0");
        sataGroup = await DeviceGroupAsync("00:1f.2");
        Assert.Equal(fnGroup, await DeviceGroupAsync("03:00.1"));
        nicDevices = [.. (await GetJsonAsync($"/groups/{nicGroup}")).GetProperty("devices").EnumerateArray().Select(d => d.GetString()!)];
        fnDevices = [.. (await GetJsonAsync($"/groups/{fnGroup}")).GetProperty("devices").EnumerateArray().Select(d => d.GetString()!)];
        Assert.Equal(2, fnDevices.Length);
        foreach (JsonElement g in (await GetJsonAsync("/groups")).EnumerateArray())
        {
            if (Int(g, "default_domain") is int dd)
                defaultDomainOf[g.GetProperty("id").GetInt32()] = dd;
        }
        // Every HPA used stays below the host address width.
        int haw = (await GetJsonAsync("/platform")).GetProperty("units").EnumerateArray().Min(u => u.GetProperty("host_address_width").GetInt32());
        Assert.True(HpaBase + (TenantCount * TenantSpan) <= 1UL << haw, $"HPAs up to 0x{HpaBase + (TenantCount * TenantSpan):x} exceed the {haw}-bit host address width");
    }

    private async Task RunTenantAsync(Tenant t, Tenant[] all, Stopwatch clock)
    {
        for (int i = 0; i < MaxOpsPerTenant && clock.Elapsed < RunCap && !t.Stopped; i++)
        {
            await t.Gate.WaitAsync();
            try
            {
                await OneOperationAsync(t, all);
                t.Publish();
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException or IndexOutOfRangeException)
            {
                Violation(t, $"an answer had an unexpected shape: {e.GetType().Name}: {e.Message}");
                t.Stopped = true;
            }
            finally
            {
                t.Gate.Release();
            }
            t.Ops++;
        }
    }

    private async Task OneOperationAsync(Tenant t, Tenant[] all)
    {
        Random r = t.Rng;
        var choices = new List<(int Weight, string Name, Func<Task> Run)>();
        HeldContainer? c = t.Containers.Count > 0 ? t.Containers[r.Next(t.Containers.Count)] : null;
        OwnDomain? d = t.Domains.Count > 0 ? t.Domains[r.Next(t.Domains.Count)] : null;
        OwnMdev[] free = [.. t.MdevList.Where(m => m.In == null && m.AttachedTo == null)];
        OwnMdev[] busy = [.. t.MdevList.Where(m => m.In != null || m.AttachedTo != null)];

        if (t.Containers.Count < 2)
            choices.Add((6, "container.create", () => CreateContainerAsync(t)));
        if (c != null)
        {
            choices.Add((free.Length > 0 ? 10 : 5, "container.attach", () => ContainerAttachAsync(t, c)));
            if (c.Groups.Count > 0)
                choices.Add((10, "container.map", () => ContainerMapAsync(t, c)));
            else
                choices.Add((1, "container.map-without-group", () => ContainerMapAsync(t, c)));
            if (c.Mappings.Count > 0)
                choices.Add((6, "container.unmap", () => ContainerUnmapAsync(t, c)));
            if (c.Groups.Count > 0)
                choices.Add((5, "container.detach", () => ContainerDetachAsync(t, c)));
            choices.Add((3, "container.close", () => CloseContainerAsync(t, c, "run")));
            choices.Add((4, "container.self-check", () => VerifyContainerAsync(t, c, everyMapping: false, "run")));
        }
        if (t.MdevList.Count < 1)
            choices.Add((5, "mdev.create", () => CreateMdevAsync(t)));
        if (free.Length > 0)
            choices.Add((2, "mdev.remove", () => RemoveMdevAsync(t, free[r.Next(free.Length)])));
        if (busy.Length > 0)
            choices.Add((2, "mdev.remove-busy", () => RemoveBusyMdevAsync(t, busy[r.Next(busy.Length)])));
        if (t.Domains.Count < 2)
            choices.Add((4, "domain.create", () => CreateDomainAsync(t)));
        if (d != null)
        {
            choices.Add((5, "domain.map", () => DomainMapAsync(t, d)));
            if (d.Mappings.Count > 0)
                choices.Add((3, "domain.unmap", () => DomainUnmapAsync(t, d)));
            choices.Add((4, "domain.attach", () => DomainAttachAsync(t, d)));
            if (d.Physical.Count + d.Mdevs.Count > 0)
            {
                int[] attached = [.. d.Physical, .. d.Mdevs.Keys];
                choices.Add((3, "domain.detach", () => DomainDetachAsync(t, d, attached[r.Next(attached.Length)])));
            }
            choices.Add((2, "domain.delete", () => DomainDeleteAsync(t, d)));
        }
        choices.Add((12, "attack", () => AttackAsync(t, all)));
        choices.Add((10, "get", () => RandomGetAsync(t)));
        choices.Add((8, "translate", () => RandomTranslateAsync(t)));

        int pick = r.Next(choices.Sum(x => x.Weight));
        foreach ((int weight, string name, Func<Task> run) in choices)
        {
            if (pick < weight)
            {
                Count(ops, name);
                await run();
                return;
            }
            pick -= weight;
        }
    }

    // ---------------------------------------------------------------- containers

    private async Task CreateContainerAsync(Tenant t)
    {
        Reply r = await SendAsync(t, "POST /containers", HttpMethod.Post, "/containers");
        if (r.Status == 201)
            t.Containers.Add(new HeldContainer(r.Json!.Value.GetProperty("id").GetInt32(), t.NextSerial++));
        else
            ExpectAny(t, r, "open a container", (409, "ENOSPC"));
    }

    private async Task ContainerAttachAsync(Tenant t, HeldContainer c)
    {
        var candidates = new List<(int Group, OwnMdev? Mdev)>();
        candidates.AddRange(t.MdevList.Where(m => m.In == null && m.AttachedTo == null).Select(m => (m.Group, (OwnMdev?)m)));
        foreach (int g in new[] { nicGroup, fnGroup })
        {
            if (!t.HoldsPhysical(g))
                candidates.Add((g, null));
        }
        if (candidates.Count == 0)
        {
            // Nothing to set: a group already in this container is EBUSY.
            if (c.Groups.Count > 0)
            {
                int g = c.Groups.Keys.First();
                Reply again = await SendAsync(t, "POST /containers/{id}/groups", HttpMethod.Post, $"/containers/{c.Id}/groups", $$"""{"group":{{g}}}""");
                ExpectAny(t, again, $"set group {g} in container {c.Id} a second time", (409, "EBUSY"));
            }
            return;
        }
        (int group, OwnMdev? mdev) = Pick(t, candidates);
        Reply r = await SendAsync(t, "POST /containers/{id}/groups", HttpMethod.Post, $"/containers/{c.Id}/groups", $$"""{"group":{{group}}}""");
        if (r.Status != 200)
        {
            if (mdev != null)
                ExpectAny(t, r, $"set my free mdev group {group} in my container {c.Id}", (409, "ENOSPC"));
            else
                ExpectAny(t, r, $"set shared group {group} in my container {c.Id}", (409, "EBUSY"), (409, "ENOSPC"));
            return;
        }
        int[] groups = Ints(r.Json!.Value, "groups");
        if (!groups.Contains(group))
            Violation(t, $"container {c.Id} answered 200 to setting group {group} but lists groups [{string.Join(",", groups)}]");
        c.Domains = Ints(r.Json!.Value, "domains");
        Reply g2 = await SendAsync(t, "GET /groups/{id}", HttpMethod.Get, $"/groups/{group}");
        if (!Expect(t, g2, $"read group {group} just set in container {c.Id}", 200))
            return;
        int domain = Int(g2.Json!.Value, "domain") ?? -1;
        CheckOwned(t, g2.Json!.Value, c.Id, $"group {group} just set in container {c.Id}");
        if (!c.Domains.Contains(domain))
            Violation(t, $"group {group} set in container {c.Id} is in domain {domain}, not one of the container's [{string.Join(",", c.Domains)}]");
        c.Groups[group] = new HeldGroup(group, mdev, domain);
        if (mdev != null)
            mdev.In = c;
    }

    private async Task ContainerDetachAsync(Tenant t, HeldContainer c)
    {
        HeldGroup g = c.Groups.Values.ElementAt(t.Rng.Next(c.Groups.Count));
        Reply r = await SendAsync(t, "DELETE /containers/{id}/groups/{group}", HttpMethod.Delete, $"/containers/{c.Id}/groups/{g.Id}");
        if (!Expect(t, r, $"take group {g.Id} out of my container {c.Id}", 204))
            return;
        c.Groups.Remove(g.Id);
        if (g.Mdev != null)
            g.Mdev.In = null;
        if (c.Groups.Count == 0)
        {
            // vfio_iommu_type1_release: the last group takes the mappings and the domains with it.
            foreach (int d in c.Domains)
                closedContainerDomains.Add(d);
            c.Mappings.Clear();
            c.Domains = [];
        }
        Reply after = await SendAsync(t, "GET /containers/{id}", HttpMethod.Get, $"/containers/{c.Id}");
        if (Expect(t, after, $"read my container {c.Id} after taking group {g.Id} out", 200))
        {
            int[] domains = Ints(after.Json!.Value, "domains");
            foreach (int gone in c.Domains.Except(domains))
                closedContainerDomains.Add(gone);
            c.Domains = domains;
            if (!Ints(after.Json!.Value, "groups").Order().SequenceEqual(c.Groups.Keys.Order()))
                Violation(t, $"container {c.Id} lists groups [{string.Join(",", Ints(after.Json!.Value, "groups"))}] after group {g.Id} left; my log says [{string.Join(",", c.Groups.Keys)}]");
        }
        if (g.Mdev != null)
        {
            // My mdev's group is mine alone: it must be free now, and in no domain.
            Reply gr = await SendAsync(t, "GET /groups/{id}", HttpMethod.Get, $"/groups/{g.Id}");
            if (Expect(t, gr, $"read group {g.Id} after it left container {c.Id}", 200))
                CheckFree(t, gr.Json!.Value, $"mdev group {g.Id} after it left container {c.Id}", mdevGroup: true);
        }
    }

    private async Task ContainerMapAsync(Tenant t, HeldContainer c)
    {
        if (c.Groups.Count == 0)
        {
            Reply none = await SendAsync(t, "POST /containers/{id}/dma", HttpMethod.Post, $"/containers/{c.Id}/dma", """{"iova":"0x0","hpa":"0x0","size":"0x1000","prot":"rw"}""");
            ExpectAny(t, none, $"map DMA in my container {c.Id}, which has no group", (400, "EINVAL"));
            return;
        }
        if (FreeSlot(t, c.Mappings) is not ulong iova)
            return;
        ulong size = Sizes[t.Rng.Next(Sizes.Length)], hpa = ContainerRegion(t, c) + iova;
        Reply r = await SendAsync(t, "POST /containers/{id}/dma", HttpMethod.Post, $"/containers/{c.Id}/dma", MapBody(iova, hpa, size));
        if (r.Status == 201)
            c.Mappings[iova] = (hpa, size);
        else
            ExpectAny(t, r, $"map a free range of my container {c.Id}", (409, "ENOSPC"));
    }

    private async Task ContainerUnmapAsync(Tenant t, HeldContainer c)
    {
        (ulong iova, (ulong _, ulong size)) = c.Mappings.ElementAt(t.Rng.Next(c.Mappings.Count));
        Reply r = await SendAsync(t, "DELETE /containers/{id}/dma", HttpMethod.Delete, $"/containers/{c.Id}/dma?iova=0x{iova:x}&size=0x{size:x}");
        if (!Expect(t, r, $"unmap my mapping 0x{iova:x}+0x{size:x} of container {c.Id}", 200))
            return;
        c.Mappings.Remove(iova);
        if (Hex(r.Json!.Value, "unmapped") != size)
            Violation(t, $"unmapping 0x{iova:x}+0x{size:x} of container {c.Id} answered unmapped {Str(r.Json!.Value, "unmapped")}");
    }

    private async Task CloseContainerAsync(Tenant t, HeldContainer c, string when)
    {
        Reply r = await SendAsync(t, "DELETE /containers/{id}", HttpMethod.Delete, $"/containers/{c.Id}");
        if (!Expect(t, r, $"close my container {c.Id} ({when})", 204))
            return;
        t.Containers.Remove(c);
        foreach (int d in c.Domains)
            closedContainerDomains.Add(d);
        foreach (HeldGroup g in c.Groups.Values)
        {
            if (g.Mdev != null)
                g.Mdev.In = null;
        }
        Reply again = await SendAsync(t, "DELETE /containers/{id}", HttpMethod.Delete, $"/containers/{c.Id}");
        ExpectAny(t, again, $"close container {c.Id} a second time", (404, "ENOENT"));
        foreach (HeldGroup g in c.Groups.Values.Where(g => g.Mdev != null))
        {
            Reply gr = await SendAsync(t, "GET /groups/{id}", HttpMethod.Get, $"/groups/{g.Id}");
            if (Expect(t, gr, $"read mdev group {g.Id} after container {c.Id} closed", 200))
                CheckFree(t, gr.Json!.Value, $"mdev group {g.Id} after container {c.Id} closed", mdevGroup: true);
        }
        foreach (int d in c.Domains)
        {
            Reply dr = await SendAsync(t, "GET /domains/{id}", HttpMethod.Get, $"/domains/{d}");
            ExpectAny(t, dr, $"read domain {d} of closed container {c.Id} (it must be freed)", (404, "ENOENT"));
        }
    }

    // ---------------------------------------------------------------- mdevs

    private async Task CreateMdevAsync(Tenant t)
    {
        Reply r = await SendAsync(t, "POST /mdevs", HttpMethod.Post, "/mdevs", $$"""{"parent":"{{Parent}}","type":"idxd-wq"}""");
        if (r.Status == 201)
            t.MdevList.Add(new OwnMdev(r.Json!.Value.GetProperty("uuid").GetString()!, r.Json!.Value.GetProperty("group").GetInt32()));
        else
            ExpectAny(t, r, "create an idxd-wq mdev", (409, "ENOSPC"));
    }

    private async Task RemoveMdevAsync(Tenant t, OwnMdev m)
    {
        Reply r = await SendAsync(t, "DELETE /mdevs/{uuid}", HttpMethod.Delete, $"/mdevs/{m.Uuid}");
        if (Expect(t, r, $"remove my free mdev {m.Uuid} (group {m.Group})", 204))
            t.MdevList.Remove(m);
    }

    private async Task RemoveBusyMdevAsync(Tenant t, OwnMdev m)
    {
        Reply r = await SendAsync(t, "DELETE /mdevs/{uuid}", HttpMethod.Delete, $"/mdevs/{m.Uuid}");
        ExpectAny(t, r, $"remove my mdev {m.Uuid} while its group {m.Group} is " + (m.In != null ? $"in container {m.In.Id}" : $"attached to domain {m.AttachedTo!.Id}"), (409, "EBUSY"));
        if (r.Status == 204)
            t.MdevList.Remove(m); // a server bug; keep the log true to the server
    }

    // ---------------------------------------------------------------- plain domains

    private async Task CreateDomainAsync(Tenant t)
    {
        Reply r = await SendAsync(t, "POST /domains", HttpMethod.Post, "/domains", """{"type":"unmanaged"}""");
        if (r.Status == 201)
        {
            var d = new OwnDomain(r.Json!.Value.GetProperty("id").GetInt32(), t.NextDomainSerial++);
            t.Domains.Add(d);
            if (Str(r.Json!.Value, "owner") is string owner)
                Violation(t, $"a domain created through POST /domains has owner '{owner}'");
        }
        else
            ExpectAny(t, r, "create an unmanaged domain", (409, "ENOSPC"));
    }

    private async Task DomainMapAsync(Tenant t, OwnDomain d)
    {
        if (FreeSlot(t, d.Mappings) is not ulong iova)
            return;
        ulong size = Sizes[t.Rng.Next(Sizes.Length)], hpa = DomainRegion(t, d) + iova;
        Reply r = await SendAsync(t, "POST /domains/{id}/mappings", HttpMethod.Post, $"/domains/{d.Id}/mappings", MapBody(iova, hpa, size));
        if (r.Status == 201)
            d.Mappings[iova] = (hpa, size);
        else
            ExpectAny(t, r, $"map a free range of my domain {d.Id}", (409, "ENOSPC"));
    }

    private async Task DomainUnmapAsync(Tenant t, OwnDomain d)
    {
        (ulong iova, (ulong _, ulong size)) = d.Mappings.ElementAt(t.Rng.Next(d.Mappings.Count));
        Reply r = await SendAsync(t, "DELETE /domains/{id}/mappings", HttpMethod.Delete, $"/domains/{d.Id}/mappings?iova=0x{iova:x}&size=0x{size:x}");
        if (!Expect(t, r, $"unmap my mapping 0x{iova:x}+0x{size:x} of domain {d.Id}", 200))
            return;
        d.Mappings.Remove(iova);
        if (Hex(r.Json!.Value, "unmapped") != size)
            Violation(t, $"unmapping 0x{iova:x}+0x{size:x} of domain {d.Id} answered unmapped {Str(r.Json!.Value, "unmapped")}");
    }

    private async Task DomainAttachAsync(Tenant t, OwnDomain d)
    {
        var candidates = new List<(int Group, OwnMdev? Mdev)>();
        candidates.AddRange(t.MdevList.Where(m => m.In == null && m.AttachedTo == null).Select(m => (m.Group, (OwnMdev?)m)));
        foreach (int g in new[] { nicGroup, fnGroup })
        {
            if (!t.HoldsPhysical(g))
                candidates.Add((g, null));
        }
        if (candidates.Count == 0)
            return;
        (int group, OwnMdev? mdev) = Pick(t, candidates);
        string body = mdev != null ? $$"""{"group":{{group}},"device":"{{Parent}}","aux":true}""" : $$"""{"group":{{group}}}""";
        Reply r = await SendAsync(t, "POST /domains/{id}/attachments", HttpMethod.Post, $"/domains/{d.Id}/attachments", body);
        if (r.Status != 200)
        {
            if (mdev != null)
                ExpectAny(t, r, $"aux-attach my free mdev group {group} to my domain {d.Id}", (409, "ENOSPC"));
            else
                ExpectAny(t, r, $"attach shared group {group} to my domain {d.Id}", (409, "EBUSY"), (409, "ENOSPC"));
            return;
        }
        if (mdev != null)
        {
            d.Mdevs[group] = mdev;
            mdev.AttachedTo = d;
        }
        else
            d.Physical.Add(group);
    }

    private async Task DomainDetachAsync(Tenant t, OwnDomain d, int group)
    {
        bool isMdev = d.Mdevs.ContainsKey(group);
        string query = isMdev ? $"group={group}&device={Parent}&aux=true" : $"group={group}";
        Reply r = await SendAsync(t, "DELETE /domains/{id}/attachments", HttpMethod.Delete, $"/domains/{d.Id}/attachments?{query}");
        if (!Expect(t, r, $"detach group {group} from my domain {d.Id}", 204))
            return;
        if (isMdev)
        {
            d.Mdevs[group].AttachedTo = null;
            d.Mdevs.Remove(group);
        }
        else
            d.Physical.Remove(group);
    }

    private async Task DomainDeleteAsync(Tenant t, OwnDomain d)
    {
        Reply r = await SendAsync(t, "DELETE /domains/{id}", HttpMethod.Delete, $"/domains/{d.Id}");
        if (d.Physical.Count + d.Mdevs.Count > 0)
        {
            ExpectAny(t, r, $"free my domain {d.Id} while groups [{string.Join(",", d.Physical.Concat(d.Mdevs.Keys))}] are attached", (409, "EBUSY"));
            return;
        }
        if (!Expect(t, r, $"free my unattached domain {d.Id}", 204))
            return;
        t.Domains.Remove(d);
        Reply gone = await SendAsync(t, "GET /domains/{id}", HttpMethod.Get, $"/domains/{d.Id}");
        ExpectAny(t, gone, $"read freed domain {d.Id}", (404, "ENOENT"));
    }

    // ---------------------------------------------------------------- attacks

    /// <summary>One hostile call on a group or domain a container owns (another client's, or this client's own:
    /// the server knows no clients). The victim's gate is held, so the target cannot be let go meanwhile.</summary>
    private async Task AttackAsync(Tenant t, Tenant[] all)
    {
        // A victim whose containers own something (a peek: it is read again under the victim's gate).
        Tenant[] armed = [.. all.Where(x => x.Published.Length > 0)];
        Tenant v = armed.Length > 0 ? armed[t.Rng.Next(armed.Length)] : all[t.Rng.Next(all.Length)];
        bool self = v == t;
        // A bounded wait: two clients attacking each other each hold their own gate, so neither may wait for ever.
        if (!self && !await v.Gate.WaitAsync(GateWait))
        {
            Count(ops, "attack.victim-busy");
            return;
        }
        try
        {
            PublishedContainer[] targets = v.Published;
            if (targets.Length == 0)
            {
                Count(ops, "attack.no-target");
                return;
            }
            PublishedContainer c = targets[t.Rng.Next(targets.Length)];
            PublishedGroup g = c.Groups[t.Rng.Next(c.Groups.Length)];
            int d = g.Domain;
            string who = self ? "my own" : $"tenant {v.Index}'s";
            int kind = t.Rng.Next(11);
            Count(ops, "attack." + AttackNames[kind]);
            switch (kind)
            {
                case 0:
                    await AttackAsync(t, c.Id, $"map into {who} container {c.Id}'s domain {d}", HttpMethod.Post, $"/domains/{d}/mappings",
                        MapBody(OutsideIova, AttackerHpa(t), 0x1000)); // at the IOVA every check expects to fault
                    break;
                case 1:
                    ulong iova = c.Iovas.Length > 0 ? c.Iovas[t.Rng.Next(c.Iovas.Length)] : 0;
                    await AttackAsync(t, c.Id, $"unmap 0x{iova:x} from {who} container {c.Id}'s domain {d}", HttpMethod.Delete, $"/domains/{d}/mappings?iova=0x{iova:x}&size=0x1000");
                    break;
                case 2:
                    await AttackAsync(t, c.Id, $"free {who} container {c.Id}'s domain {d}", HttpMethod.Delete, $"/domains/{d}");
                    break;
                case 3:
                    await AttackAsync(t, c.Id, $"attach the SATA group {sataGroup} to {who} container {c.Id}'s domain {d}", HttpMethod.Post, $"/domains/{d}/attachments",
                        $$"""{"group":{{sataGroup}}}""");
                    break;
                case 4:
                    string query = g.IsMdev ? $"group={g.Id}&device={Parent}&aux=true" : $"group={g.Id}";
                    await AttackAsync(t, c.Id, $"detach group {g.Id} from {who} container {c.Id}'s domain {d} through /domains", HttpMethod.Delete, $"/domains/{d}/attachments?{query}");
                    break;
                case 5:
                    // Move the group elsewhere: to this client's own domain, or (a physical group) back to its default domain.
                    OwnDomain? mine = t.Domains.Count > 0 ? t.Domains[t.Rng.Next(t.Domains.Count)] : null;
                    if (g.IsMdev && mine != null)
                        await AttackAsync(t, c.Id, $"aux-attach {who} container {c.Id}'s mdev group {g.Id} to my domain {mine.Id}", HttpMethod.Post, $"/domains/{mine.Id}/attachments",
                            $$"""{"group":{{g.Id}},"device":"{{Parent}}","aux":true}""");
                    else if (!g.IsMdev)
                    {
                        int target = mine?.Id ?? defaultDomainOf[g.Id];
                        await AttackAsync(t, c.Id, $"attach {who} container {c.Id}'s group {g.Id} to domain {target}", HttpMethod.Post, $"/domains/{target}/attachments",
                            $$"""{"group":{{g.Id}}}""");
                    }
                    else
                        await AttackAsync(t, c.Id, $"aux-attach the parent to {who} container {c.Id}'s domain {d}", HttpMethod.Post, $"/domains/{d}/attachments",
                            $$"""{"device":"{{Parent}}","aux":true}""");
                    break;
                case 6:
                    await AttackAsync(t, c.Id, $"attach the parent at PASID 77 to {who} container {c.Id}'s domain {d}", HttpMethod.Post, $"/domains/{d}/attachments",
                        $$"""{"device":"{{Parent}}","pasid":77}""");
                    break;
                case 7:
                    if (g.Uuid != null)
                    {
                        Reply r = await SendAsync(t, "DELETE /mdevs/{uuid}", HttpMethod.Delete, $"/mdevs/{g.Uuid}");
                        ExpectAny(t, r, $"remove {who} mdev {g.Uuid} in container {c.Id}", (409, "EBUSY"));
                    }
                    else
                    {
                        Reply r = await SendAsync(t, "DELETE /domains/{id}/attachments", HttpMethod.Delete, $"/domains/{defaultDomainOf[g.Id]}/attachments?group={g.Id}");
                        // The group is in the container's domain, not its default one: whatever else is wrong, ownership comes first.
                        ExpectAny(t, r, $"detach {who} container {c.Id}'s group {g.Id} from its default domain", (409, "EBUSY"));
                    }
                    break;
                case 8:
                    HeldContainer? other = t.Containers.FirstOrDefault(x => x.Id != c.Id);
                    if (other != null)
                    {
                        Reply r = await SendAsync(t, "POST /containers/{id}/groups", HttpMethod.Post, $"/containers/{other.Id}/groups", $$"""{"group":{{g.Id}}}""");
                        ExpectAny(t, r, $"set {who} container {c.Id}'s group {g.Id} in my container {other.Id}", (409, "EBUSY"));
                    }
                    else
                    {
                        Reply r = await SendAsync(t, "DELETE /containers/{id}/groups/{group}", HttpMethod.Delete, $"/containers/{c.Id + 100_000}/groups/{g.Id}");
                        ExpectAny(t, r, "take a group out of a container that does not exist", (404, "ENOENT"));
                    }
                    break;
                case 9:
                    Reply gr = await SendAsync(t, "GET /groups/{id}", HttpMethod.Get, $"/groups/{g.Id}");
                    if (Expect(t, gr, $"read {who} container {c.Id}'s group {g.Id}", 200))
                        CheckOwned(t, gr.Json!.Value, c.Id, $"{who} container {c.Id}'s group {g.Id}");
                    break;
                default:
                    Reply dr = await SendAsync(t, "GET /domains/{id}", HttpMethod.Get, $"/domains/{d}");
                    if (Expect(t, dr, $"read {who} container {c.Id}'s domain {d}", 200) && Str(dr.Json!.Value, "owner") != $"container {c.Id}")
                        Violation(t, $"domain {d} of container {c.Id} shows owner '{Str(dr.Json!.Value, "owner")}'");
                    break;
            }
        }
        finally
        {
            if (!self)
                v.Gate.Release();
        }
    }

    private async Task AttackAsync(Tenant t, int owner, string what, HttpMethod method, string url, string? body = null)
    {
        Reply r = await SendAsync(t, "attack " + method.Method + " " + Regex.Replace(url.Split('?')[0], @"\d+", "{id}"), method, url, body);
        if (r.Status == 409 && r.Code == "EBUSY" && OwnerNamed(r.Detail, owner))
        {
            Count(ops, "attack.refused-naming-owner");
            return;
        }
        Violation(t, $"hostile call '{what}' must answer 409 EBUSY naming 'container {owner}'; it answered {r.Status} {r.Code}: {Clip(r.Body, 300)}");
    }

    // ---------------------------------------------------------------- reads and translations during the run

    private async Task RandomGetAsync(Tenant t)
    {
        int id = 1 + t.Rng.Next(Math.Max(8, t.MaxIdSeen + 4));
        switch (t.Rng.Next(9))
        {
            case 0:
                Reply all = await SendAsync(t, "GET /domains", HttpMethod.Get, "/domains");
                if (Expect(t, all, "list domains", 200))
                {
                    foreach (JsonElement d in all.Json!.Value.EnumerateArray())
                        CheckOwnerShape(t, d, "domain");
                }
                break;
            case 1:
                Reply one = await SendAsync(t, "GET /domains/{id}", HttpMethod.Get, $"/domains/{id}");
                if (one.Status == 200)
                    CheckOwnerShape(t, one.Json!.Value, "domain");
                else
                    ExpectAny(t, one, $"read domain {id}", (404, "ENOENT"));
                break;
            case 2:
                Reply groups = await SendAsync(t, "GET /groups", HttpMethod.Get, "/groups");
                if (Expect(t, groups, "list groups", 200))
                {
                    foreach (JsonElement g in groups.Json!.Value.EnumerateArray())
                        CheckGroupShape(t, g);
                }
                break;
            case 3:
                Reply group = await SendAsync(t, "GET /groups/{id}", HttpMethod.Get, $"/groups/{id}");
                if (group.Status == 200)
                    CheckGroupShape(t, group.Json!.Value);
                else
                    ExpectAny(t, group, $"read group {id}", (404, "ENOENT"));
                break;
            case 4:
                Reply containers = await SendAsync(t, "GET /containers", HttpMethod.Get, "/containers");
                if (Expect(t, containers, "list containers", 200))
                    t.MaxIdSeen = Math.Max(t.MaxIdSeen, containers.Json!.Value.EnumerateArray().SelectMany(c => Ints(c, "domains").Concat(Ints(c, "groups"))).DefaultIfEmpty(0).Max());
                break;
            case 5:
                Reply device = await SendAsync(t, "GET /devices/{bdf}", HttpMethod.Get, $"/devices/{Parent}");
                Expect(t, device, $"read {Parent}", 200);
                break;
            case 6:
                Reply mdevs = await SendAsync(t, "GET /mdevs", HttpMethod.Get, "/mdevs");
                Expect(t, mdevs, "list mdevs", 200);
                break;
            case 7:
                Reply types = await SendAsync(t, "GET /mdev/types", HttpMethod.Get, $"/mdev/types?parent={Parent}");
                Expect(t, types, "list mdev types", 200);
                break;
            default:
                if (t.Containers.Count > 0)
                {
                    HeldContainer c = t.Containers[t.Rng.Next(t.Containers.Count)];
                    Reply mine = await SendAsync(t, "GET /containers/{id}", HttpMethod.Get, $"/containers/{c.Id}");
                    Expect(t, mine, $"read my container {c.Id}", 200);
                }
                break;
        }
    }

    private async Task RandomTranslateAsync(Tenant t)
    {
        ulong iova = ((ulong)t.Rng.Next(Slots) * SlotSize) + ((ulong)t.Rng.Next(0x200) << 12) + (ulong)t.Rng.Next(0x1000);
        string url = t.Rng.Next(3) switch
        {
            0 => $"/translate?device={Parent}&pasid={1 + t.Rng.Next(24)}&iova=0x{iova:x}&access=write",
            1 => $"/translate?device=02:00.0&iova=0x{iova:x}",
            _ => $"/translate?device=03:00.1&iova=0x{iova:x}&access=read",
        };
        Reply r = await SendAsync(t, "GET /translate", HttpMethod.Get, url);
        Expect(t, r, "translate", 200);
    }

    // ---------------------------------------------------------------- what a client checks of what it holds

    /// <summary>The container as my log has it: its groups (owned by it, in its domains) and mappings; every mapping
    /// (or a few, during the run) translates to my HPA through every member device, and IOVAs outside them fault.</summary>
    private async Task VerifyContainerAsync(Tenant t, HeldContainer c, bool everyMapping, string when)
    {
        Reply r = await SendAsync(t, "GET /containers/{id}", HttpMethod.Get, $"/containers/{c.Id}");
        if (!Expect(t, r, $"read my container {c.Id} ({when})", 200))
            return;
        JsonElement server = r.Json!.Value;
        int[] groups = Ints(server, "groups");
        if (!groups.Order().SequenceEqual(c.Groups.Keys.Order()))
            Violation(t, $"{when}: container {c.Id} lists groups [{string.Join(",", groups)}]; my log says [{string.Join(",", c.Groups.Keys.Order())}]");
        var mappings = server.GetProperty("mappings").EnumerateArray().Select(m => (Iova: Hex(m, "iova"), Hpa: Hex(m, "hpa"), Size: Hex(m, "size"))).ToArray();
        var logged = c.Mappings.Select(m => (Iova: m.Key, m.Value.Hpa, m.Value.Size)).ToArray();
        if (!mappings.SequenceEqual(logged))
            Violation(t, $"{when}: container {c.Id} holds mappings [{string.Join(", ", mappings.Select(Describe))}]; my log says [{string.Join(", ", logged.Select(Describe))}]");
        c.Domains = Ints(server, "domains");

        JsonElement[] pasids = await ParentPasidsAsync(t);
        var probes = new List<(string Device, uint? Pasid, string Via)>();
        foreach (HeldGroup g in c.Groups.Values)
        {
            Reply gr = await SendAsync(t, "GET /groups/{id}", HttpMethod.Get, $"/groups/{g.Id}");
            if (!Expect(t, gr, $"read group {g.Id} of my container {c.Id} ({when})", 200))
                continue;
            CheckOwned(t, gr.Json!.Value, c.Id, $"{when}: group {g.Id} of container {c.Id}");
            int? domain = Int(gr.Json!.Value, "domain");
            if (domain != g.Domain)
                Violation(t, $"{when}: group {g.Id} of container {c.Id} is in domain {domain?.ToString(CultureInfo.InvariantCulture) ?? "none"}; it was set in domain {g.Domain}");
            Reply dr = await SendAsync(t, "GET /domains/{id}", HttpMethod.Get, $"/domains/{g.Domain}");
            if (Expect(t, dr, $"read domain {g.Domain} of my container {c.Id} ({when})", 200) && Str(dr.Json!.Value, "owner") != $"container {c.Id}")
                Violation(t, $"{when}: domain {g.Domain} of container {c.Id} shows owner '{Str(dr.Json!.Value, "owner")}'");
            if (g.Mdev == null)
            {
                foreach (string device in g.Id == nicGroup ? nicDevices : fnDevices)
                    probes.Add((device, null, $"{device} (group {g.Id})"));
                continue;
            }
            JsonElement[] at = [.. pasids.Where(p => p.GetProperty("domain").GetInt32() == g.Domain)];
            if (at.Length != 1)
            {
                Violation(t, $"{when}: {Parent} has {at.Length} PASID entries for domain {g.Domain} of container {c.Id} (mdev group {g.Id}); its PASIDs are [{string.Join(", ", pasids.Select(p => p.ToString()))}]");
                continue;
            }
            uint pasid = at[0].GetProperty("pasid").GetUInt32();
            if (dr.Status == 200 && Int(dr.Json!.Value, "pasid") is int dp && dp != pasid)
                Violation(t, $"{when}: domain {g.Domain} shows pasid {dp}, but {Parent}'s PASID table has it at {pasid}");
            probes.Add((Parent, pasid, $"{Parent} PASID {pasid} (mdev group {g.Id})"));
        }
        await ProbeAsync(t, $"container {c.Id}", c.Mappings, probes, everyMapping, when);
    }

    private async Task VerifyOwnDomainAsync(Tenant t, OwnDomain d, string when)
    {
        Reply r = await SendAsync(t, "GET /domains/{id}", HttpMethod.Get, $"/domains/{d.Id}");
        if (!Expect(t, r, $"read my domain {d.Id} ({when})", 200))
            return;
        if (Str(r.Json!.Value, "owner") is string owner)
            Violation(t, $"{when}: my domain {d.Id} (from POST /domains) shows owner '{owner}'");
        int[] groups = Ints(r.Json!.Value, "groups");
        if (!groups.Order().SequenceEqual(d.Physical.Order()))
            Violation(t, $"{when}: domain {d.Id} has groups [{string.Join(",", groups)}] attached; my log says [{string.Join(",", d.Physical)}]");
        var probes = new List<(string Device, uint? Pasid, string Via)>();
        foreach (int g in d.Physical)
        {
            foreach (string device in g == nicGroup ? nicDevices : fnDevices)
                probes.Add((device, null, $"{device} (group {g})"));
        }
        if (d.Mdevs.Count > 0)
        {
            if (Int(r.Json!.Value, "pasid") is int pasid)
                probes.Add((Parent, (uint)pasid, $"{Parent} PASID {pasid} (mdev groups {string.Join(",", d.Mdevs.Keys)})"));
            else
                Violation(t, $"{when}: domain {d.Id} has mdev groups [{string.Join(",", d.Mdevs.Keys)}] aux-attached but shows no pasid: {r.Body}");
        }
        await ProbeAsync(t, $"domain {d.Id}", d.Mappings, probes, everyMapping: true, when);
    }

    private async Task ProbeAsync(Tenant t, string what, SortedDictionary<ulong, (ulong Hpa, ulong Size)> mappings,
        List<(string Device, uint? Pasid, string Via)> probes, bool everyMapping, string when)
    {
        var inside = mappings.Select(m => (Iova: m.Key, m.Value.Hpa, m.Value.Size)).ToList();
        if (!everyMapping && inside.Count > 2)
            inside = [.. inside.OrderBy(_ => t.Rng.Next()).Take(2)];
        ulong? hole = Enumerable.Range(0, Slots).Select(i => (ulong)i * SlotSize).Cast<ulong?>().FirstOrDefault(i => !mappings.ContainsKey(i!.Value));
        foreach ((string device, uint? pasid, string via) in probes)
        {
            foreach ((ulong iova, ulong hpa, ulong size) in inside)
            {
                ulong offset = (size / 2) + 0x123;
                JsonElement? result = await TranslateAsync(t, device, pasid, iova + offset, $"{what} ({when})");
                if (result is not JsonElement res)
                    continue;
                if (!res.GetProperty("ok").GetBoolean())
                    Violation(t, $"{when}: {what}: IOVA 0x{iova + offset:x} (mapping 0x{iova:x}+0x{size:x} -> 0x{hpa:x}) through {via} faults: {res}");
                else if (Hex(res, "hpa") != hpa + offset)
                    Violation(t, $"{when}: {what}: IOVA 0x{iova + offset:x} through {via} reaches HPA {Str(res, "hpa")}, expected 0x{hpa + offset:x}" +
                        (Owner(Hex(res, "hpa")) is int k && k != t.Index ? $": tenant {k}'s memory" : ""));
            }
            foreach (ulong outside in hole is ulong h ? new[] { OutsideIova, h + 0x800 } : [OutsideIova])
            {
                JsonElement? result = await TranslateAsync(t, device, pasid, outside, $"{what} ({when})");
                if (result is JsonElement res && res.GetProperty("ok").GetBoolean())
                    Violation(t, $"{when}: {what}: IOVA 0x{outside:x}, outside all its mappings, through {via} reaches HPA {Str(res, "hpa")}" +
                        (Owner(Hex(res, "hpa")) is int k ? $" (tenant {k}'s memory)" : ""));
            }
        }
    }

    private async Task<JsonElement?> TranslateAsync(Tenant? t, string device, uint? pasid, ulong iova, string what)
    {
        string url = $"/translate?device={device}&iova=0x{iova:x}&access=write" + (pasid is uint p ? $"&pasid={p}" : "");
        Reply r = await SendAsync(t, "GET /translate", HttpMethod.Get, url);
        return Expect(t, r, $"translate for {what}", 200) ? r.Json : null;
    }

    private async Task<JsonElement[]> ParentPasidsAsync(Tenant? t)
    {
        Reply r = await SendAsync(t, "GET /devices/{bdf}", HttpMethod.Get, $"/devices/{Parent}");
        return Expect(t, r, $"read {Parent}", 200) ? [.. r.Json!.Value.GetProperty("pasids").EnumerateArray()] : [];
    }

    private async Task<uint[]> ContainerPasidsAsync(HeldContainer c)
    {
        JsonElement[] pasids = await ParentPasidsAsync(null);
        return [.. pasids.Where(p => c.Groups.Values.Any(g => g.Mdev != null && g.Domain == p.GetProperty("domain").GetInt32())).Select(p => p.GetProperty("pasid").GetUInt32())];
    }

    // ---------------------------------------------------------------- the end-state checks

    /// <summary>No orphan: every group in a container is listed by exactly one existing container that owns it;
    /// every owned domain belongs to an existing container that lists it; what the server holds matches the logs.</summary>
    private async Task CheckNoOrphansAsync(Tenant[] tenants, string when)
    {
        Reply cr = await SendAsync(null, "GET /containers", HttpMethod.Get, "/containers");
        Reply gr = await SendAsync(null, "GET /groups", HttpMethod.Get, "/groups");
        Reply dr = await SendAsync(null, "GET /domains", HttpMethod.Get, "/domains");
        if (!Expect(null, cr, "list containers", 200) || !Expect(null, gr, "list groups", 200) || !Expect(null, dr, "list domains", 200))
            return;
        var containers = cr.Json!.Value.EnumerateArray().ToDictionary(c => c.GetProperty("id").GetInt32(),
            c => (Groups: Ints(c, "groups"), Domains: Ints(c, "domains"), MappingCount: Int(c, "mapping_count")));
        var held = tenants.SelectMany(t => t.Containers.Select(c => (t, c))).ToDictionary(x => x.c.Id);
        foreach ((int id, (Tenant t, HeldContainer c)) in held)
        {
            if (containers.TryGetValue(id, out var listed) && listed.MappingCount is int n && n != c.Mappings.Count)
                Violation(null, $"{when}: GET /containers counts {n} mappings in container {id}; tenant {t.Index}'s log holds {c.Mappings.Count}");
        }
        foreach (int id in containers.Keys.Except(held.Keys))
            Violation(null, $"{when}: container {id} exists (groups [{string.Join(",", containers[id].Groups)}]) but no client holds it: a leak");
        foreach (int id in held.Keys.Except(containers.Keys))
            Violation(null, $"{when}: tenant {held[id].t.Index} holds container {id}, which the server does not list");

        foreach (JsonElement g in gr.Json!.Value.EnumerateArray())
        {
            int id = g.GetProperty("id").GetInt32();
            bool inContainer = g.GetProperty("in_container").GetBoolean();
            string? owner = Str(g, "owner");
            int[] listing = [.. containers.Where(c => c.Value.Groups.Contains(id)).Select(c => c.Key)];
            if (inContainer && listing.Length != 1)
                Violation(null, $"{when}: group {id} is in_container (owner '{owner}') but {listing.Length} containers list it: [{string.Join(",", listing)}]");
            if (inContainer && listing.Length == 1 && owner != $"container {listing[0]}")
                Violation(null, $"{when}: group {id} is listed by container {listing[0]} but shows owner '{owner}'");
            if (!inContainer && (listing.Length > 0 || owner != null))
                Violation(null, $"{when}: group {id} is not in_container, yet owner is '{owner}' and containers [{string.Join(",", listing)}] list it");
        }
        var domains = dr.Json!.Value.EnumerateArray().ToDictionary(d => d.GetProperty("id").GetInt32());
        foreach ((int id, JsonElement d) in domains)
        {
            if (Str(d, "owner") is not string owner)
                continue;
            Match m = Regex.Match(owner, @"^container (\d+)$");
            int n = m.Success ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : -1;
            if (!containers.TryGetValue(n, out var c))
                Violation(null, $"{when}: domain {id} is owned by '{owner}', which does not exist: an orphan");
            else if (!c.Domains.Contains(id))
                Violation(null, $"{when}: domain {id} is owned by '{owner}', which lists domains [{string.Join(",", c.Domains)}]");
        }
        foreach ((int id, var c) in containers)
        {
            foreach (int d in c.Domains)
            {
                if (!domains.TryGetValue(d, out JsonElement de))
                    Violation(null, $"{when}: container {id} lists domain {d}, which GET /domains does not");
                else if (Str(de, "owner") != $"container {id}")
                    Violation(null, $"{when}: container {id} lists domain {d}, whose owner is '{Str(de, "owner")}'");
            }
        }

        // 01:00.0's PASIDs: exactly the aux domains the logs account for (containers with mdevs, my domains with mdevs).
        JsonElement[] pasids = await ParentPasidsAsync(null);
        var expected = tenants.SelectMany(t => t.Containers.SelectMany(c => c.Groups.Values.Where(g => g.Mdev != null).Select(g => g.Domain))
            .Concat(t.Domains.Where(d => d.Mdevs.Count > 0).Select(d => d.Id))).ToHashSet();
        int[] actual = [.. pasids.Select(p => p.GetProperty("domain").GetInt32())];
        foreach (int d in actual.Except(expected))
        {
            string origin = closedContainerDomains.Contains(d) ? " (a domain of a closed container)" : "";
            Violation(null, $"{when}: {Parent} has a PASID for domain {d}{origin}, which no client's log accounts for; PASIDs: [{string.Join(", ", pasids.Select(p => p.ToString()))}]");
        }
        foreach (int d in expected.Except(actual))
            Violation(null, $"{when}: domain {d} has mdev groups aux-attached per the logs, but {Parent} has no PASID for it");
        if (actual.Length != actual.Distinct().Count())
            Violation(null, $"{when}: {Parent} has two PASIDs for one domain: [{string.Join(", ", pasids.Select(p => p.ToString()))}]");

        // Every mdev group: in a domain exactly when the logs say so.
        Reply mr = await SendAsync(null, "GET /mdevs", HttpMethod.Get, "/mdevs");
        if (!Expect(null, mr, "list mdevs", 200))
            return;
        var mdevsLogged = tenants.SelectMany(t => t.MdevList).ToDictionary(m => m.Uuid, StringComparer.OrdinalIgnoreCase);
        foreach (JsonElement m in mr.Json!.Value.EnumerateArray())
        {
            string uuid = m.GetProperty("uuid").GetString()!;
            if (!mdevsLogged.TryGetValue(uuid, out OwnMdev? mine))
            {
                Violation(null, $"{when}: mdev {uuid} exists but no client created it (or it was removed): {m}");
                continue;
            }
            int? expectedDomain = mine.In != null ? mine.In.Groups[mine.Group].Domain : mine.AttachedTo?.Id;
            if (Int(m, "domain") != expectedDomain)
                Violation(null, $"{when}: mdev {uuid} (group {mine.Group}) is in domain {Int(m, "domain")?.ToString(CultureInfo.InvariantCulture) ?? "none"}; the log says {expectedDomain?.ToString(CultureInfo.InvariantCulture) ?? "none"}");
        }
    }

    /// <summary>After every container is closed: the IOVAs they mapped fault through their former devices.</summary>
    private async Task CheckClosedContainersFaultAsync(Tenant[] tenants, List<(Tenant T, HeldContainer C, uint[] Pasids)> closed)
    {
        bool nicFree = !tenants.Any(t => t.Domains.Any(d => d.Physical.Contains(nicGroup)));
        foreach ((Tenant t, HeldContainer c, uint[] pasids) in closed)
        {
            foreach ((ulong iova, (ulong hpa, ulong size)) in c.Mappings)
            {
                if (nicFree && c.Groups.ContainsKey(nicGroup))
                {
                    JsonElement? res = await TranslateAsync(null, "02:00.0", null, iova, "a closed container");
                    if (res is JsonElement r && r.GetProperty("ok").GetBoolean())
                        Violation(t, $"after closing container {c.Id}: the NIC still reaches HPA {Str(r, "hpa")} at IOVA 0x{iova:x} (mapping -> 0x{hpa:x}+0x{size:x})");
                }
                foreach (uint pasid in pasids)
                {
                    JsonElement? res = await TranslateAsync(null, Parent, pasid, iova, "a closed container");
                    if (res is JsonElement r && r.GetProperty("ok").GetBoolean())
                        Violation(t, $"after closing container {c.Id}: {Parent} PASID {pasid} still reaches HPA {Str(r, "hpa")} at IOVA 0x{iova:x}");
                }
            }
        }
    }

    /// <summary>Once every domain is freed: no group in a container or in a foreign domain, no mdev group attached,
    /// no PASID on 01:00.0, no owned domain.</summary>
    private async Task CheckNothingAttachedAsync(string when)
    {
        Reply gr = await SendAsync(null, "GET /groups", HttpMethod.Get, "/groups");
        if (Expect(null, gr, "list groups", 200))
        {
            foreach (JsonElement g in gr.Json!.Value.EnumerateArray())
            {
                if (g.GetProperty("in_container").GetBoolean() || Str(g, "owner") != null || Str(g, "aux_parent") != null || Int(g, "domain") != Int(g, "default_domain"))
                    Violation(null, $"{when}: group {g.GetProperty("id").GetInt32()} is still taken: {g}");
            }
        }
        Reply dr = await SendAsync(null, "GET /domains", HttpMethod.Get, "/domains");
        if (Expect(null, dr, "list domains", 200))
        {
            foreach (JsonElement d in dr.Json!.Value.EnumerateArray())
            {
                int id = d.GetProperty("id").GetInt32();
                if (Str(d, "owner") != null || !defaultDomainOf.ContainsValue(id))
                    Violation(null, $"{when}: domain {id} is left over: {d}");
            }
        }
        JsonElement[] pasids = await ParentPasidsAsync(null);
        if (pasids.Length > 0)
            Violation(null, $"{when}: {Parent} still has PASIDs: [{string.Join(", ", pasids.Select(p => p.ToString()))}]");
        Reply mr = await SendAsync(null, "GET /mdevs", HttpMethod.Get, "/mdevs");
        if (Expect(null, mr, "list mdevs", 200))
        {
            foreach (JsonElement m in mr.Json!.Value.EnumerateArray())
            {
                if (Int(m, "domain") is int d)
                    Violation(null, $"{when}: mdev {Str(m, "uuid")} (group {Int(m, "group")}) is still in domain {d}");
            }
        }
    }

    private async Task CheckEmptyAsync()
    {
        Reply cr = await SendAsync(null, "GET /containers", HttpMethod.Get, "/containers");
        if (Expect(null, cr, "list containers", 200) && cr.Json!.Value.GetArrayLength() != 0)
            Violation(null, $"at the end: containers are left: {cr.Body}");
        Reply mr = await SendAsync(null, "GET /mdevs", HttpMethod.Get, "/mdevs");
        if (Expect(null, mr, "list mdevs", 200) && mr.Json!.Value.GetArrayLength() != 0)
            Violation(null, $"at the end: mdevs are left: {mr.Body}");
        Reply tr = await SendAsync(null, "GET /mdev/types", HttpMethod.Get, $"/mdev/types?parent={Parent}");
        if (Expect(null, tr, "list mdev types", 200) && tr.Json!.Value[0].GetProperty("available_instances").GetInt32() != tr.Json!.Value[0].GetProperty("max_instances").GetInt32())
            Violation(null, $"at the end: not every idxd-wq instance is available again: {tr.Body}");
        await CheckNothingAttachedAsync("at the end");
    }

    /// <summary>Everything given back: the whole container and domain quota is free again (no count leaked).</summary>
    private async Task CheckLimitsFreeAsync()
    {
        var containers = new List<int>();
        for (int i = 0; i < MaxContainers; i++)
        {
            Reply r = await SendAsync(null, "POST /containers", HttpMethod.Post, "/containers");
            if (!Expect(null, r, $"at the end: open container {i + 1} of the limit of {MaxContainers}", 201))
                break;
            containers.Add(r.Json!.Value.GetProperty("id").GetInt32());
        }
        if (containers.Count == MaxContainers)
            ExpectAny(null, await SendAsync(null, "POST /containers", HttpMethod.Post, "/containers"), $"at the end: open container {MaxContainers + 1}, beyond the limit", (409, "ENOSPC"));
        foreach (int id in containers)
            Expect(null, await SendAsync(null, "DELETE /containers/{id}", HttpMethod.Delete, $"/containers/{id}"), $"at the end: close container {id}", 204);

        var domains = new List<int>();
        for (int i = 0; i < MaxDomains; i++)
        {
            Reply r = await SendAsync(null, "POST /domains", HttpMethod.Post, "/domains", """{"type":"unmanaged"}""");
            if (!Expect(null, r, $"at the end: create domain {i + 1} of the limit of {MaxDomains}", 201))
                break;
            domains.Add(r.Json!.Value.GetProperty("id").GetInt32());
        }
        if (domains.Count == MaxDomains)
            ExpectAny(null, await SendAsync(null, "POST /domains", HttpMethod.Post, "/domains", """{"type":"unmanaged"}"""), $"at the end: create domain {MaxDomains + 1}, beyond the limit", (409, "ENOSPC"));
        foreach (int id in domains)
            Expect(null, await SendAsync(null, "DELETE /domains/{id}", HttpMethod.Delete, $"/domains/{id}"), $"at the end: free domain {id}", 204);
    }

    // ---------------------------------------------------------------- shape checks

    private void CheckOwned(Tenant? t, JsonElement group, int container, string what)
    {
        if (!group.GetProperty("in_container").GetBoolean() || Str(group, "owner") != $"container {container}")
            Violation(t, $"{what} must be in_container with owner 'container {container}': {group}");
    }

    private void CheckFree(Tenant? t, JsonElement group, string what, bool mdevGroup)
    {
        if (group.GetProperty("in_container").GetBoolean() || Str(group, "owner") != null || (mdevGroup && Int(group, "domain") != null))
            Violation(t, $"{what} must be out of every container, with no owner{(mdevGroup ? " and no domain" : "")}: {group}");
    }

    private void CheckOwnerShape(Tenant t, JsonElement e, string what)
    {
        if (Str(e, "owner") is string owner && !Regex.IsMatch(owner, @"^container \d+$"))
            Violation(t, $"{what} {Int(e, "id")} shows owner '{owner}', not 'container N'");
    }

    private void CheckGroupShape(Tenant t, JsonElement g)
    {
        bool inContainer = g.GetProperty("in_container").GetBoolean();
        CheckOwnerShape(t, g, "group");
        if (inContainer != (Str(g, "owner") != null))
            Violation(t, $"group {g.GetProperty("id").GetInt32()}: in_container {inContainer} but owner '{Str(g, "owner")}'");
    }

    // ---------------------------------------------------------------- HTTP, expectations, reporting

    private async Task<Reply> SendAsync(Tenant? t, string kind, HttpMethod method, string url, string? body = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(url, UriKind.Relative));
        if (body != null)
            request.Content = Json(body);
        using var timeout = new CancellationTokenSource(RequestTimeout);
        Interlocked.Increment(ref requests);
        Reply reply;
        try
        {
            using HttpResponseMessage response = await Client.SendAsync(request, timeout.Token);
            string text = await response.Content.ReadAsStringAsync(timeout.Token);
            JsonElement? json = null;
            try
            {
                if (text.Length > 0)
                {
                    using var doc = JsonDocument.Parse(text);
                    json = doc.RootElement.Clone();
                }
            }
            catch (JsonException)
            {
            }
            string? code = json is { ValueKind: JsonValueKind.Object } j && j.TryGetProperty("code", out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            string? detail = json is { ValueKind: JsonValueKind.Object } k && k.TryGetProperty("detail", out JsonElement de) && de.ValueKind == JsonValueKind.String ? de.GetString() : null;
            reply = new Reply((int)response.StatusCode, text, response.Content.Headers.ContentType?.MediaType, json, code, detail);
        }
        catch (OperationCanceledException)
        {
            t?.Stop();
            Violation(t, $"{method.Method} {url}{(body != null ? " " + body : "")}: no answer within {RequestTimeout.TotalSeconds} s (a hang)");
            return new Reply(0, "", null, null, null, null);
        }
        t?.Trace.Add($"{method.Method} {url}{(body != null ? " " + body : "")} -> {reply.Status} {Clip(reply.Body, 200)}");
        Count(statuses, $"{kind} -> {reply.Status}{(reply.Code != null ? " " + reply.Code : "")}");
        if (reply.Status == 409)
            Count(conflicts, reply.Code ?? "(no code)");

        // The contract every answer keeps.
        string call = $"{method.Method} {url}{(body != null ? " " + body : "")}";
        if (reply.Status >= 500)
        {
            string? trace = Field(reply, "trace_id");
            Violation(t, $"{call} answered {reply.Status}: {Clip(reply.Body, 400)}" + (serverErrors.Describe(trace) is string log ? $"\n    server log: {log}" : ""));
        }
        else if (reply.Status >= 400)
        {
            if (reply.MediaType != "application/problem+json" || reply.Code == null || reply.Json is not { ValueKind: JsonValueKind.Object } p
                || !p.TryGetProperty("status", out JsonElement st) || st.ValueKind != JsonValueKind.Number || st.GetInt32() != reply.Status)
                Violation(t, $"{call} answered {reply.Status} as '{reply.MediaType}' without a proper problem body (code, status): {Clip(reply.Body, 300)}");
        }
        if (reply.Body.Contains("   at ", StringComparison.Ordinal) || reply.Body.Contains("Exception", StringComparison.Ordinal))
            Violation(t, $"{call} answered a body with a stack trace or exception name: {Clip(reply.Body, 300)}");
        return reply;

        static string? Field(Reply r, string name) => r.Json is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out JsonElement v) ? v.ToString() : null;
    }

    private bool Expect(Tenant? t, Reply r, string what, params int[] expected)
    {
        if (expected.Contains(r.Status))
            return true;
        if (r.Status is > 0 and < 500)
            Violation(t, $"'{what}' answered {r.Status} {r.Code}, expected {string.Join(" or ", expected)}: {Clip(r.Body, 300)}");
        return false;
    }

    private void ExpectAny(Tenant? t, Reply r, string what, params (int Status, string Code)[] allowed)
    {
        if (allowed.Any(a => a.Status == r.Status && a.Code == r.Code))
            return;
        if (r.Status is > 0 and < 500)
            Violation(t, $"'{what}' answered {r.Status} {r.Code}, expected {string.Join(" or ", allowed.Select(a => $"{a.Status} {a.Code}"))}: {Clip(r.Body, 300)}");
    }

    private void Violation(Tenant? t, string message)
    {
        var text = new StringBuilder(t != null ? $"[tenant {t.Index}] " : "[end check] ").Append(message);
        if (t != null && t.Trace.Count > 0)
        {
            text.Append("\n    its last requests:");
            foreach (string line in t.Trace.Skip(Math.Max(0, t.Trace.Count - 8)))
                text.Append("\n      ").Append(line);
        }
        violations.Enqueue(text.ToString());
    }

    private void Summarize(Tenant[] tenants, TimeSpan run, TimeSpan total, int seed)
    {
        output.WriteLine($"seed {seed}; {TenantCount} clients; run {run.TotalSeconds:F1} s (cap {RunCap.TotalSeconds} s, at most {MaxOpsPerTenant} operations each), whole test {total.TotalSeconds:F1} s; {requests} requests");
        output.WriteLine("operations per client: " + string.Join(", ", tenants.Select(t => t.Ops)));
        output.WriteLine("operations per kind:");
        foreach ((string name, int n) in ops.OrderBy(o => o.Key, StringComparer.Ordinal))
            output.WriteLine($"  {name,-32} {n,6}");
        output.WriteLine("409 answers per code: " + (conflicts.IsEmpty ? "none" : string.Join(", ", conflicts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}"))));
        output.WriteLine("answers per call:");
        foreach ((string name, int n) in statuses.OrderBy(o => o.Key, StringComparer.Ordinal))
            output.WriteLine($"  {name,-52} {n,6}");
        output.WriteLine($"violations: {violations.Count}");
        foreach (string v in violations.Take(40))
            output.WriteLine(v);
    }

    // ---------------------------------------------------------------- small helpers

    private static bool OwnerNamed(string? detail, int container) =>
        detail != null && Regex.IsMatch(detail, $@"\bcontainer {container}(?!\d)");

    /// <summary>One of the groups a client may set: its own free mdev's most of the time (the shared groups are
    /// contended by every client, and mostly answer EBUSY).</summary>
    private static (int Group, OwnMdev? Mdev) Pick(Tenant t, List<(int Group, OwnMdev? Mdev)> candidates)
    {
        var mdevs = candidates.Where(x => x.Mdev != null).ToList();
        return mdevs.Count > 0 && t.Rng.Next(10) < 7 ? mdevs[t.Rng.Next(mdevs.Count)] : candidates[t.Rng.Next(candidates.Count)];
    }

    private static ulong? FreeSlot(Tenant t, SortedDictionary<ulong, (ulong Hpa, ulong Size)> mappings)
    {
        ulong[] free = [.. Enumerable.Range(0, Slots).Select(i => (ulong)i * SlotSize).Where(i => !mappings.ContainsKey(i))];
        return free.Length == 0 ? null : free[t.Rng.Next(free.Length)];
    }

    private static ulong TenantBase(Tenant t) => HpaBase + ((ulong)t.Index * TenantSpan);

    private static ulong ContainerRegion(Tenant t, HeldContainer c) => TenantBase(t) + ((ulong)(c.Serial % 240) * RegionSpan);

    private static ulong DomainRegion(Tenant t, OwnDomain d) => TenantBase(t) + DomainRegions + ((ulong)(d.Serial % 16) * RegionSpan);

    private static ulong AttackerHpa(Tenant t) => TenantBase(t) + DomainRegions - RegionSpan; // a region the attacker never maps itself

    private static int? Owner(ulong hpa) => hpa >= HpaBase && hpa < HpaBase + (TenantCount * TenantSpan) ? (int)((hpa - HpaBase) / TenantSpan) : null;

    private static string MapBody(ulong iova, ulong hpa, ulong size) => $$"""{"iova":"0x{{iova:x}}","hpa":"0x{{hpa:x}}","size":"0x{{size:x}}","prot":"rw"}""";

    private static string Describe((ulong Iova, ulong Hpa, ulong Size) m) => $"0x{m.Iova:x}+0x{m.Size:x}->0x{m.Hpa:x}";

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? Int(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

    private static int[] Ints(JsonElement e, string name) => [.. e.GetProperty(name).EnumerateArray().Select(x => x.GetInt32())];

    private static ulong Hex(JsonElement e, string name)
    {
        string s = e.GetProperty(name).GetString()!;
        return s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.Parse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : ulong.Parse(s, CultureInfo.InvariantCulture);
    }

    private static string Clip(string s, int max) => s.Length <= max ? s : s[..max] + "...";

    private static void Count(ConcurrentDictionary<string, int> counter, string key) => counter.AddOrUpdate(key, 1, (_, n) => n + 1);

    private sealed record Reply(int Status, string Body, string? MediaType, JsonElement? Json, string? Code, string? Detail);

    private sealed record PublishedGroup(int Id, string? Uuid, int Domain)
    {
        public bool IsMdev => Uuid != null;
    }

    private sealed record PublishedContainer(int Id, PublishedGroup[] Groups, ulong[] Iovas);

    private sealed record HeldGroup(int Id, OwnMdev? Mdev, int Domain);

    /// <summary>A container a client holds, as its log has it.</summary>
    private sealed class HeldContainer(int id, int serial)
    {
        public int Id { get; } = id;

        public int Serial { get; } = serial;

        public Dictionary<int, HeldGroup> Groups { get; } = [];

        public SortedDictionary<ulong, (ulong Hpa, ulong Size)> Mappings { get; } = [];

        public int[] Domains { get; set; } = [];
    }

    /// <summary>A domain a client made with <c>POST /domains</c>.</summary>
    private sealed class OwnDomain(int id, int serial)
    {
        public int Id { get; } = id;

        public int Serial { get; } = serial;

        public SortedDictionary<ulong, (ulong Hpa, ulong Size)> Mappings { get; } = [];

        public HashSet<int> Physical { get; } = [];

        public Dictionary<int, OwnMdev> Mdevs { get; } = [];
    }

    private sealed class OwnMdev(string uuid, int group)
    {
        public string Uuid { get; } = uuid;

        public int Group { get; } = group;

        public HeldContainer? In { get; set; }

        public OwnDomain? AttachedTo { get; set; }
    }

    /// <summary>One client: its random stream, its log, its gate, and what its containers own (for attackers).</summary>
    private sealed class Tenant(int index, Random rng)
    {
        public int Index { get; } = index;

        public Random Rng { get; } = rng;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public List<HeldContainer> Containers { get; } = [];

        public List<OwnDomain> Domains { get; } = [];

        public List<OwnMdev> MdevList { get; } = [];

        public List<string> Trace { get; } = [];

        public PublishedContainer[] Published { get; private set; } = [];

        public int NextSerial { get; set; }

        public int NextDomainSerial { get; set; }

        public int MaxIdSeen { get; set; }

        public int Ops { get; set; }

        public bool Stopped { get; set; }

        public void Stop() => Stopped = true;

        /// <summary>True when this client has the physical group in one of its containers or domains.</summary>
        public bool HoldsPhysical(int group) =>
            Containers.Any(c => c.Groups.ContainsKey(group)) || Domains.Any(d => d.Physical.Contains(group));

        /// <summary>Called under <see cref="Gate"/>: what attackers may aim at (containers with a group).</summary>
        public void Publish()
        {
            Published = [.. Containers.Where(c => c.Groups.Count > 0).Select(c => new PublishedContainer(c.Id,
                [.. c.Groups.Values.Select(g => new PublishedGroup(g.Id, g.Mdev?.Uuid, g.Domain))], [.. c.Mappings.Keys]))];
            MaxIdSeen = Math.Max(MaxIdSeen, Containers.SelectMany(c => c.Domains.Concat(c.Groups.Keys)).Concat(Domains.Select(d => d.Id)).DefaultIfEmpty(0).Max());
        }
    }

    /// <summary>Keeps what the server logs at Error with an exception, by trace id, to explain a 500.</summary>
    private sealed class ServerErrors : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> entries = new();

        public string? Describe(string? traceId) => entries.IsEmpty ? null : string.Join(" | ", entries.TakeLast(3)) + (traceId != null ? $" (trace {traceId})" : "");

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(ServerErrors owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (logLevel >= LogLevel.Error && exception != null)
                    owner.entries.Enqueue($"{exception.GetType().Name}: {exception.Message} @ {exception.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}");
            }
        }
    }
}
