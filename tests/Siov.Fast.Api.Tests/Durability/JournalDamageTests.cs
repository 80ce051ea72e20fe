using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using Siov.Fast.Api.Durability;

namespace Siov.Fast.Api.Tests.Durability;

/// <summary>
/// What the server does with a damaged, foreign or locked state directory, a full disk and a replay that cannot
/// reproduce what was acknowledged: damage before the tail, another version or platform, a lock held and a replay
/// that disagrees are start-up errors (exit 2) that change nothing on disk; a torn tail is recovered with a warning;
/// a full journal answers 507 while reads and translation go on.
/// </summary>
public sealed class JournalDamageTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "siov-damage-" + Guid.NewGuid().ToString("N"));

    private string Database => Path.Combine(_directory, StateJournal.DatabaseFileName);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_flipped_byte_before_the_tail_is_a_startup_error_that_changes_nothing()
    {
        await RunSessionAndStopAsync();
        // A byte of a domain-creation record's arguments ("UNMANAGED"), flipped in the file itself.
        byte[] file = await File.ReadAllBytesAsync(Database);
        int at = file.AsSpan().IndexOf("UNMANAGED"u8);
        Assert.True(at > 0, "no record's arguments are in the checkpointed database file");
        file[at] ^= 0x20;
        await File.WriteAllBytesAsync(Database, file);
        string before = Hash();

        (int exitCode, string output) = await StartExpectingExitAsync();
        Assert.True(exitCode == 2, output);
        Assert.True(output.Contains("is damaged at record", StringComparison.Ordinal) && output.Contains("nothing was changed", StringComparison.Ordinal), output);
        Assert.Equal(before, Hash());
    }

    [Fact]
    public async Task A_damaged_last_record_is_dropped_with_a_warning()
    {
        string expected;
        using (WebApplicationFactory<Program> server = RestartTests.Server(_directory))
        {
            using HttpClient client = server.CreateClient();
            await RestartTests.SendAsync(client, HttpMethod.Post, "/domains", """{"type":"UNMANAGED"}""", HttpStatusCode.Created);
            expected = await RestartTests.SnapshotAsync(client);
            await RestartTests.SendAsync(client, HttpMethod.Post, "/domains/8/mappings", """{"iova":"0x0","hpa":"0x100000","size":"0x1000"}""", HttpStatusCode.Created);
        }
        Execute("UPDATE journal SET arguments = CAST(replace(CAST(arguments AS TEXT), '0x100000', '0x100001') AS BLOB) WHERE seq = 2");

        (Process process, string? address, string output) = await RealServer.StartAsync(new Dictionary<string, string>(), "--urls=http://127.0.0.1:0", "--state-dir", _directory);
        try
        {
            Assert.True(address != null, output);
            Assert.Contains("the last record of the state journal (2) was damaged and is dropped", output, StringComparison.Ordinal);
            using var client = new HttpClient { BaseAddress = new Uri(address) };
            Assert.Equal(expected, await RestartTests.SnapshotAsync(client));
        }
        finally
        {
            RealServer.Stop(process);
        }
    }

    [Theory]
    [InlineData("UPDATE meta SET value = '99' WHERE key = 'format'", "format version '99'")]
    [InlineData("UPDATE meta SET value = 'another' WHERE key = 'platform'", "belongs to platform 'another'")]
    [InlineData("DELETE FROM journal WHERE seq = 2", "record 2 is missing")]
    public async Task A_foreign_or_gapped_journal_is_a_startup_error_that_changes_nothing(string damage, string message)
    {
        await RunSessionAndStopAsync();
        Execute(damage);
        string before = Hash();
        (int exitCode, string output) = await StartExpectingExitAsync();
        Assert.Equal(2, exitCode);
        Assert.Contains(message, output, StringComparison.Ordinal);
        Assert.Equal(before, Hash());
    }

    [Fact]
    public async Task A_torn_wal_tail_is_recovered_to_the_last_complete_call()
    {
        (Process process, string? address, string output) = await RealServer.StartAsync(new Dictionary<string, string>(), "--urls=http://127.0.0.1:0", "--state-dir", _directory);
        string expected;
        try
        {
            Assert.True(address != null, output);
            using var client = new HttpClient { BaseAddress = new Uri(address) };
            await RestartTests.SendAsync(client, HttpMethod.Post, "/domains", """{"type":"UNMANAGED"}""", HttpStatusCode.Created);
            expected = await RestartTests.SnapshotAsync(client);
            await RestartTests.SendAsync(client, HttpMethod.Post, "/domains/8/mappings", """{"iova":"0x0","hpa":"0x100000","size":"0x1000"}""", HttpStatusCode.Created);
        }
        finally
        {
            RealServer.Stop(process); // SIGKILL: the write-ahead log is left as it was
        }
        // Cut the last frame (the map call's commit) in the middle, as a crash inside write() would.
        string wal = Database + "-wal";
        Assert.True(File.Exists(wal));
        using (var stream = new FileStream(wal, FileMode.Open))
            stream.SetLength(stream.Length - 100);

        (process, address, output) = await RealServer.StartAsync(new Dictionary<string, string>(), "--urls=http://127.0.0.1:0", "--state-dir", _directory);
        try
        {
            Assert.True(address != null, output);
            Assert.Contains("ends in a torn frame", output, StringComparison.Ordinal);
            using var client = new HttpClient { BaseAddress = new Uri(address) };
            Assert.Equal(expected, await RestartTests.SnapshotAsync(client));
        }
        finally
        {
            RealServer.Stop(process);
        }
    }

    [Fact]
    public async Task A_state_size_limit_below_a_working_database_is_a_startup_error()
    {
        (int exitCode, string output) = await StartExpectingExitAsync("--Siov:State:MaxBytes=10");
        Assert.True(exitCode == 2 && output.Contains("MaxBytes", StringComparison.Ordinal), output);
    }

    [Fact]
    public async Task A_second_server_on_the_directory_refuses_to_start()
    {
        (Process first, string? address, string output) = await RealServer.StartAsync(new Dictionary<string, string>(), "--urls=http://127.0.0.1:0", "--state-dir", _directory);
        try
        {
            Assert.True(address != null, output);
            (int exitCode, string second) = await StartExpectingExitAsync();
            Assert.Equal(2, exitCode);
            Assert.Contains("is in use by another server", second, StringComparison.Ordinal);
        }
        finally
        {
            RealServer.Stop(first);
        }
    }

    [Fact]
    public async Task A_replay_that_cannot_do_what_was_acknowledged_is_a_startup_error()
    {
        using (WebApplicationFactory<Program> server = RestartTests.Server(_directory))
        {
            using HttpClient client = server.CreateClient();
            await RestartTests.SendAsync(client, HttpMethod.Post, "/domains", """{"type":"UNMANAGED"}""", HttpStatusCode.Created);
            await RestartTests.SendAsync(client, HttpMethod.Post, "/domains", """{"type":"UNMANAGED"}""", HttpStatusCode.Created);
            await RestartTests.SendAsync(client, HttpMethod.Post, "/domains/8/mappings", """{"iova":"0x0","hpa":"0x100000","size":"0x1000"}""", HttpStatusCode.Created);
        }
        string before = Hash();
        (int exitCode, string output) = await StartExpectingExitAsync("--Siov:Limits:MaxDomains=1");
        Assert.Equal(2, exitCode);
        Assert.Contains("replaying record 2 (CreateDomain) failed where the call succeeded", output, StringComparison.Ordinal);
        Assert.Equal(before, Hash());
    }

    [Fact]
    public async Task A_full_journal_answers_507_and_changes_nothing_while_reads_and_translation_go_on()
    {
        using WebApplicationFactory<Program> server = RestartTests.Server(_directory, ("Siov:State:MaxBytes", "65536"));
        using HttpClient client = server.CreateClient();
        int created = 0;
        HttpStatusCode status;
        string body;
        do
        {
            // Batches of 256 mappings are 6.4 KiB records: a 16-page database fills after a few.
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/domains/2/mappings/batch", UriKind.Relative))
            {
                Content = new StringContent(BatchOf256(created), Encoding.UTF8, "application/json"),
            };
            using HttpResponseMessage response = await client.SendAsync(request);
            status = response.StatusCode;
            body = await response.Content.ReadAsStringAsync();
            if (status == HttpStatusCode.OK)
                created++;
        }
        while (status == HttpStatusCode.OK && created < 100);
        Assert.True(status == HttpStatusCode.InsufficientStorage, $"after {created} batches: {(int)status} {body}");
        Assert.Contains("\"code\":\"ENOSPC\"", body, StringComparison.Ordinal);
        Assert.True(created > 0);

        // Nothing of the refused batch was applied; reads and translation work.
        JsonElement domain = await RestartTests.SendAsync(client, HttpMethod.Get, "/domains/2", null, HttpStatusCode.OK);
        Assert.Equal($"0x{created * 256 * 0x1000:x}", domain.GetProperty("mapped_bytes").GetString());
        JsonElement translated = await RestartTests.SendAsync(client, HttpMethod.Get, "/translate?device=00:14.0&iova=0x40000000&access=read", null, HttpStatusCode.OK);
        Assert.Equal("0x80000000", translated.GetProperty("hpa").GetString());
        using var again = new HttpRequestMessage(HttpMethod.Post, new Uri("/domains/2/mappings/batch", UriKind.Relative))
        {
            Content = new StringContent(BatchOf256(created), Encoding.UTF8, "application/json"),
        };
        using HttpResponseMessage refused = await client.SendAsync(again);
        Assert.Equal(HttpStatusCode.InsufficientStorage, refused.StatusCode);
    }

    /// <summary>256 4 KiB mappings of batch <paramref name="n"/>, at IOVA 0x40000000 + n MiB (HPA twice the IOVA).</summary>
    private static string BatchOf256(int n)
    {
        var mappings = Enumerable.Range(0, 256).Select(i =>
        {
            ulong iova = 0x4000_0000UL + (ulong)n * 0x10_0000 + (ulong)i * 0x1000;
            return $$"""{"iova":"0x{{iova:x}}","hpa":"0x{{iova * 2:x}}","size":"0x1000"}""";
        });
        return $$"""{"mappings":[{{string.Join(",", mappings)}}]}""";
    }

    private async Task RunSessionAndStopAsync()
    {
        using WebApplicationFactory<Program> server = RestartTests.Server(_directory);
        using HttpClient client = server.CreateClient();
        await RestartTests.RunSessionAsync(client);
    }

    private async Task<(int ExitCode, string Output)> StartExpectingExitAsync(params string[] extra)
    {
        (Process process, string? address, string output) = await RealServer.StartAsync(new Dictionary<string, string>(),
            ["--urls=http://127.0.0.1:0", "--state-dir", _directory, .. extra]);
        try
        {
            Assert.True(address == null, $"the server started:\n{output}");
            return (process.ExitCode, output);
        }
        finally
        {
            RealServer.Stop(process);
        }
    }

    private void Execute(string sql)
    {
        using (var connection = new SqliteConnection($"Data Source={Database};Pooling=False"))
        {
            connection.Open();
            using SqliteCommand command = connection.CreateCommand();
            command.CommandText = sql;
            Assert.Equal(1, command.ExecuteNonQuery());
        }
        SqliteConnection.ClearAllPools();
    }

    /// <summary>A digest of every file in the state directory but the lock.</summary>
    private string Hash() => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("|",
        Directory.GetFiles(_directory).Where(f => !f.EndsWith(StateJournal.LockFileName, StringComparison.Ordinal)).Order()
            .Select(f => f + ":" + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))))))));
}
