using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Siov.Fast.Api.Durability;

/// <summary>
/// The admin server's durable state: a write-ahead journal of the mutating calls, in an SQLite database in WAL mode
/// with <c>synchronous=FULL</c> (a commit is on disk before it returns). A call is appended, and committed, before it is
/// applied to the engine; start-up replays every record into a fresh platform. The engine is deterministic and a
/// failed call changes nothing, so a record whose call failed fails again on replay; each record carries the outcome
/// of the one before it, and a replay that disagrees is a start-up error. Each record carries a SHA-256 of its content
/// (SQLite checks its WAL frames but not the pages of its main file).
/// </summary>
/// <remarks>Not thread-safe: the server calls it under its control lock only. Layout, version 1:
/// <c>meta(key, value)</c> with <c>format</c> and <c>platform</c>; <c>journal(seq, operation, arguments,
/// previous_outcome, digest)</c>, <c>seq</c> from 1 without gaps.</remarks>
internal sealed class StateJournal : IDisposable
{
    /// <summary>The layout this server reads and writes.</summary>
    public const int FormatVersion = 1;

    /// <summary>The database file's name in the state directory.</summary>
    public const string DatabaseFileName = "state.db";

    /// <summary>The lock file's name: held exclusively while a server uses the directory.</summary>
    public const string LockFileName = "state.lock";

    private readonly SqliteConnection _connection;
    private readonly FileStream _lock;
    private readonly SqliteCommand _insert;
    private long _lastSequence;
    private bool? _pendingOutcome;

    private StateJournal(string directory, FileStream lockFile, SqliteConnection connection, long lastSequence)
    {
        Directory = directory;
        _lock = lockFile;
        _connection = connection;
        _lastSequence = lastSequence;
        _insert = connection.CreateCommand();
        _insert.CommandText = "INSERT INTO journal(seq, operation, arguments, previous_outcome, digest) VALUES ($seq, $op, $args, $prev, $digest)";
        foreach (string name in new[] { "$seq", "$op", "$args", "$prev", "$digest" })
            _insert.Parameters.Add(new SqliteParameter { ParameterName = name });
    }

    /// <summary>The state directory.</summary>
    public string Directory { get; }

    /// <summary>Records in the journal.</summary>
    public long Count => _lastSequence;

    /// <summary>
    /// Opens (or creates) the journal in <paramref name="directory"/>, taking its lock, and reads every record. Damage
    /// in the last record (a digest that does not match) is a torn tail: it is dropped, with a warning in
    /// <paramref name="warnings"/>. Any other damage, another format version or another platform's state is an error
    /// that changes nothing on disk.
    /// </summary>
    /// <param name="directory">The state directory; created when missing.</param>
    /// <param name="platform">The platform's identity; a journal written for another is refused.</param>
    /// <param name="maxBytes">The database's size limit (SQLite <c>max_page_count</c>); beyond it appends fail with ENOSPC.</param>
    /// <param name="records">Every good record, in order.</param>
    /// <param name="warnings">What was recovered.</param>
    /// <returns>The open journal.</returns>
    /// <exception cref="StateException">The directory is locked by another server, or unreadable, damaged or foreign.</exception>
    public static StateJournal Open(string directory, string platform, long maxBytes, out List<JournalRecord> records, out List<string> warnings)
    {
        warnings = [];
        try
        {
            System.IO.Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StateException($"cannot create the state directory {directory}: {e.Message}");
        }
        FileStream lockFile;
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock on Linux): a second server fails here.
            lockFile = new FileStream(Path.Combine(directory, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new StateException($"the state directory {directory} is in use by another server (its {LockFileName} is locked): {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new StateException($"cannot lock the state directory {directory}: {e.Message}");
        }
        SqliteConnection? connection = null;
        try
        {
            string database = Path.Combine(directory, DatabaseFileName);
            warnings.AddRange(CheckWalTail(database));
            connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Pooling = false }.ToString());
            connection.Open();
            Execute(connection, "PRAGMA journal_mode=WAL");
            Execute(connection, "PRAGMA synchronous=FULL");
            long pageSize = (long)Scalar(connection, "PRAGMA page_size")!;
            Execute(connection, $"PRAGMA max_page_count={Math.Max(16, maxBytes / pageSize)}");
            if ((string?)Scalar(connection, "PRAGMA quick_check") != "ok")
                throw new StateException($"the state database {database} is damaged (SQLite quick_check failed); move it away or start with --state-dir elsewhere");
            bool fresh = Scalar(connection, "SELECT name FROM sqlite_master WHERE type='table' AND name='meta'") == null;
            if (fresh)
            {
                using SqliteTransaction create = connection.BeginTransaction();
                Execute(connection, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)", create);
                Execute(connection, "CREATE TABLE journal(seq INTEGER PRIMARY KEY, operation TEXT NOT NULL, arguments BLOB NOT NULL, previous_outcome INTEGER, digest BLOB NOT NULL)", create);
                Execute(connection, $"INSERT INTO meta VALUES ('format', '{FormatVersion}')", create);
                using (SqliteCommand meta = connection.CreateCommand())
                {
                    meta.Transaction = create;
                    meta.CommandText = "INSERT INTO meta VALUES ('platform', $platform)";
                    meta.Parameters.AddWithValue("$platform", platform);
                    meta.ExecuteNonQuery();
                }
                create.Commit();
            }
            string? format = (string?)Scalar(connection, "SELECT value FROM meta WHERE key='format'");
            if (format != FormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture))
                throw new StateException($"the state in {directory} has format version '{format}'; this server reads version {FormatVersion}");
            string? owner = (string?)Scalar(connection, "SELECT value FROM meta WHERE key='platform'");
            if (owner != platform)
                throw new StateException($"the state in {directory} belongs to platform '{owner}', not '{platform}'; start that platform or give another --state-dir");
            records = ReadRecords(connection, directory, warnings);
            var journal = new StateJournal(directory, lockFile, connection, records.Count);
            connection = null;
            return journal;
        }
        catch (SqliteException e)
        {
            throw new StateException($"cannot read the state in {directory}: {e.Message}");
        }
        finally
        {
            if (connection != null)
            {
                connection.Dispose();
                lockFile.Dispose();
            }
        }
    }

    /// <summary>
    /// Appends one call and commits it (on disk when this returns), with the outcome of the call before it.
    /// </summary>
    /// <param name="operation">The endpoint's name.</param>
    /// <param name="arguments">Its arguments as the replay reads them.</param>
    /// <exception cref="StateException">ENOSPC when the database or the disk is full; EIO for any other write error. Nothing
    /// was appended and the engine must not apply the call.</exception>
    public void Append(string operation, byte[] arguments)
    {
        long sequence = _lastSequence + 1;
        int? previous = _pendingOutcome is bool ok ? (ok ? 1 : 0) : null;
        try
        {
            using SqliteTransaction transaction = _connection.BeginTransaction();
            _insert.Transaction = transaction;
            _insert.Parameters["$seq"].Value = sequence;
            _insert.Parameters["$op"].Value = operation;
            _insert.Parameters["$args"].Value = arguments;
            _insert.Parameters["$prev"].Value = previous.HasValue ? previous.Value : DBNull.Value;
            _insert.Parameters["$digest"].Value = Digest(sequence, operation, arguments, previous);
            _insert.ExecuteNonQuery();
            transaction.Commit();
        }
        catch (SqliteException e)
        {
            bool full = e.SqliteErrorCode == 13; // SQLITE_FULL: max_page_count reached, or the disk
            var error = new StateException(full ? "ENOSPC" : "EIO",
                full ? $"the state journal in {Directory} is full (Siov:State:MaxBytes, or the disk); the call was not applied"
                     : $"the state journal in {Directory} could not be written ({e.Message}); the call was not applied");
            LastWriteError = error.Message;
            throw error;
        }
        LastWriteError = null;
        _lastSequence = sequence;
        _pendingOutcome = null;
    }

    /// <summary>Why the last append failed, or null when it succeeded (or none was made): readiness reads it.</summary>
    public string? LastWriteError { get; private set; }

    /// <summary>Whether the journal can still be written, without touching its connection (which belongs to the
    /// calls that append): the last append succeeded, the database file is there, and a file can be created beside it.</summary>
    /// <returns>null, or why not.</returns>
    public string? ProbeWritable()
    {
        if (LastWriteError is { } error)
            return error;
        string database = Path.Combine(Directory, DatabaseFileName);
        if (!File.Exists(database))
            return $"the state journal {database} is gone";
        string probe = Path.Combine(Directory, ".ready-probe");
        try
        {
            File.WriteAllBytes(probe, [1]);
            File.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"the state directory {Directory} is not writable ({e.Message})";
        }
    }

    /// <summary>Records whether the call appended last succeeded; written with the next record.</summary>
    /// <param name="succeeded">Its outcome.</param>
    public void SetOutcome(bool succeeded) => _pendingOutcome = succeeded;

    public void Dispose()
    {
        _insert.Dispose();
        _connection.Dispose();
        _lock.Dispose();
    }

    private static List<JournalRecord> ReadRecords(SqliteConnection connection, string directory, List<string> warnings)
    {
        var records = new List<JournalRecord>();
        var damaged = new List<long>();
        using (SqliteCommand read = connection.CreateCommand())
        {
            read.CommandText = "SELECT seq, operation, arguments, previous_outcome, digest FROM journal ORDER BY seq";
            using SqliteDataReader reader = read.ExecuteReader();
            while (reader.Read())
            {
                long sequence = reader.GetInt64(0);
                string operation = reader.GetString(1);
                byte[] arguments = (byte[])reader.GetValue(2);
                int? previous = reader.IsDBNull(3) ? null : reader.GetInt32(3);
                byte[] digest = (byte[])reader.GetValue(4);
                if (sequence != records.Count + damaged.Count + 1)
                    throw new StateException($"the state journal in {directory} is damaged: record {records.Count + damaged.Count + 1} is missing (next is {sequence})");
                if (damaged.Count > 0 || !digest.AsSpan().SequenceEqual(Digest(sequence, operation, arguments, previous)))
                {
                    damaged.Add(sequence);
                    continue;
                }
                records.Add(new JournalRecord(sequence, operation, arguments, previous.HasValue ? previous.Value == 1 : null));
            }
        }
        if (damaged.Count > 1)
            throw new StateException($"the state journal in {directory} is damaged at record {damaged[0]} of {records.Count + damaged.Count} (its digest does not match); nothing was changed");
        if (damaged.Count == 1)
        {
            // The last record only: a torn tail. The call it holds was never acknowledged.
            Execute(connection, $"DELETE FROM journal WHERE seq = {damaged[0]}");
            warnings.Add($"the last record of the state journal ({damaged[0]}) was damaged and is dropped; its call was not acknowledged");
        }
        return records;
    }

    /// <summary>A WAL file whose length is not a whole number of frames was cut while being written; SQLite drops the
    /// partial frame (and any frame after a bad checksum) when it opens the database.</summary>
    private static IEnumerable<string> CheckWalTail(string database)
    {
        var wal = new FileInfo(database + "-wal");
        if (!wal.Exists || wal.Length < 32)
            yield break;
        Span<byte> header = stackalloc byte[32];
        using (FileStream stream = wal.OpenRead())
            stream.ReadExactly(header);
        uint pageSize = BinaryPrimitives.ReadUInt32BigEndian(header[8..]);
        long frame = 24 + (pageSize == 1 ? 65536 : pageSize);
        if (pageSize is >= 512 and <= 65536 && (wal.Length - 32) % frame != 0)
            yield return $"the state journal's write-ahead log ends in a torn frame ({(wal.Length - 32) % frame} bytes); recovered to the last complete record";
    }

    private static byte[] Digest(long sequence, string operation, byte[] arguments, int? previous)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> head = stackalloc byte[12];
        BinaryPrimitives.WriteInt64LittleEndian(head, sequence);
        BinaryPrimitives.WriteInt32LittleEndian(head[8..], previous ?? -1);
        hash.AppendData(head);
        hash.AppendData(Encoding.UTF8.GetBytes(operation));
        hash.AppendData([0]);
        hash.AppendData(arguments);
        return hash.GetHashAndReset()[..16];
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
