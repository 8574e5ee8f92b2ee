using Demikernel.Server.Store;

namespace Demikernel.Server.Persistence;

/// <summary>
/// A point-in-time image of every database, serialized while clients keep writing, without fork, in an
/// <see cref="ISnapshotFormat"/>: an RDB image (BGSAVE, AOF base with aof-use-rdb-preamble yes) or AOF commands
/// (<see cref="AofCommandFormat"/>, aof-use-rdb-preamble no).
/// <code>
///   Begin (instant T)          Step (slices on the libOS thread)                   any lookup/delete of an entry
///   ─────────────────          ─────────────────────────────────                   not yet written (mark ≠ epoch)
///   epoch++ on every db        per database, in index order:                       ─────────────────────────────
///   remember keys/expires      select db (RDB: +RESIZEDB), entries preserved early write it now, as it is (before
///   header into the output     then a reverse-binary cursor over the bucket table  the caller changes it), into the
///                              writes every entry whose mark ≠ epoch, marks it     current section, or into that
///                              ...end; the file writer adds the CRC64 (RDB)       database's "early" buffer
/// </code>
/// Every entry present at T is written exactly once with its value at T: either by the walk, or by the store just
/// before the first lookup that could change it (<see cref="ISnapshotObserver.Preserve"/>). Entries created after T
/// carry the new epoch from birth and are skipped; so does an entry MOVEd in from another database (its old database
/// wrote it). The cursor is the one SCAN uses, so resizes between slices neither skip nor repeat an entry (repeats are
/// filtered by the mark anyway). FLUSHDB hands its old table to the snapshot (<see cref="Detach"/>), which goes on
/// walking that table. Keys already expired at T are not written. Memory cost: the early buffers, i.e. the
/// serialized size of the entries of databases the walk has not reached that were touched meanwhile, plus the output
/// not yet drained.
/// </summary>
internal abstract class Snapshot : ISnapshotObserver
{
    /// <summary>Starts an RDB snapshot (BGSAVE, an AOF base with aof-use-rdb-preamble yes) of
    /// <paramref name="databases"/> as they are now; the RDB header is the first output.</summary>
    public static Snapshot Begin(RedisDatabase[] databases, long nowMs, long usedMemory, bool aofBase, bool compress,
        byte[][]? functions = null, RdbReplicationInfo? replication = null) =>
        Begin(databases, nowMs, compress, new RdbSnapshotFormat(nowMs / 1000, usedMemory, aofBase, functions, replication,
            RdbKeyAccess.Of(databases, nowMs)));

    /// <summary>Starts a snapshot written in <paramref name="format"/> (its header is the first output).</summary>
    public static Snapshot Begin<TFormat>(RedisDatabase[] databases, long nowMs, bool compress, TFormat format)
        where TFormat : struct, ISnapshotFormat
    {
        foreach (var db in databases)
            if (db.Snapshot is not null) throw new InvalidOperationException("a snapshot is already running");
        return new Snapshot<TFormat>(databases, nowMs, compress, format);
    }

    protected Snapshot(long atMs) => AtMs = atMs;

    /// <summary>The instant the snapshot represents (unix ms).</summary>
    public long AtMs { get; }

    /// <summary>Keys in the databases at the start (expired ones included, as DBSIZE counts).</summary>
    public long KeysTotal { get; protected set; }

    /// <summary>Keys written so far.</summary>
    public long KeysWritten { get; protected set; }

    /// <summary>Bytes written for entries preserved ahead of the walk (the analogue of fork's copy-on-write).</summary>
    public long PreservedBytes { get; protected set; }

    /// <summary>True once every database was written and the format's end (RDB: EOF opcode) is in the output.</summary>
    public bool Complete { get; protected set; }

    /// <summary>
    /// Walks the databases for up to <paramref name="budget"/> units of work (an entry written or a bucket visited).
    /// Returns <see cref="Complete"/>.
    /// </summary>
    public abstract bool Step(int budget);

    /// <summary>Runs to the end in one go (SAVE, SHUTDOWN).</summary>
    public void RunToEnd()
    {
        while (!Step(int.MaxValue)) { }
    }

    /// <summary>The bytes serialized since the last call; valid until the next call of any member.</summary>
    public abstract ReadOnlySpan<byte> Drain();

    /// <summary>Forgets what <see cref="Drain"/> returned.</summary>
    public abstract void Drained();

    /// <summary>
    /// Stops without finishing, for FLUSHALL (which drops every key, so no stale mark can outlive it) and shutdown.
    /// Any other caller must keep stepping instead, so that every entry ends up with the current mark.
    /// </summary>
    public abstract void Abandon();

    public abstract void Preserve(RedisDatabase db, int slot);

    public abstract void Detach(RedisDatabase db, KeyTable table);
}

/// <summary>The walk of <see cref="Snapshot"/>, specialised by the JIT for one output format.</summary>
internal sealed class Snapshot<TFormat> : Snapshot where TFormat : struct, ISnapshotFormat
{
    private sealed class Section
    {
        public long Keys;
        public long Expires;
        public KeyTable? Detached;
        public ulong Cursor;
        public bool Started;
        public bool Done;
        public RdbWriter? Early;
    }

    private readonly RedisDatabase[] _databases;
    private readonly Section[] _sections;
    private readonly RdbWriter _out;
    private TFormat _format; // not readonly: no defensive copy per call
    private readonly byte _epoch;
    private int _current;

    internal Snapshot(RedisDatabase[] databases, long atMs, bool compress, TFormat format) : base(atMs)
    {
        _databases = databases;
        _format = format;
        _out = new RdbWriter { Compress = compress };
        _sections = new Section[databases.Length];
        _epoch = (byte)(databases[0].SnapshotEpoch + 1);
        long total = 0;
        for (int i = 0; i < databases.Length; i++)
        {
            var db = databases[i];
            _sections[i] = new Section { Keys = db.Count, Expires = db.ExpiresCount };
            total += db.Count;
            db.SnapshotEpoch = _epoch;
            db.Snapshot = this;
        }
        KeysTotal = total;
        _format.WriteHeader(_out);
    }

    /// <summary>
    /// Walks the databases for up to <paramref name="budget"/> units of work (an entry written or a bucket visited).
    /// Returns <see cref="Complete"/>.
    /// </summary>
    public override bool Step(int budget)
    {
        while (budget > 0 && !Complete)
        {
            if (_current == _databases.Length)
            {
                _format.WriteEnd(_out);
                Release();
                Complete = true;
                break;
            }
            var section = _sections[_current];
            var db = _databases[_current];
            if (!section.Started)
            {
                if (section.Keys == 0 && section.Early is null)
                {
                    section.Done = true;
                    _current++;
                    continue;
                }
                section.Started = true;
                _format.WriteSelectDb(_out, db.Index, section.Keys, section.Expires);
                if (section.Early is { } early)
                {
                    _out.Bytes(early.Written);
                    section.Early = null;
                }
                if (section.Keys == 0)
                {
                    section.Done = true;
                    _current++;
                    continue;
                }
            }
            var table = section.Detached ?? db.Table;
            var buckets = table.Buckets;
            ulong mask = (ulong)buckets.Length - 1;
            for (int s = buckets[section.Cursor & mask]; s >= 0; s = table.At(s).Next)
            {
                if (table.At(s).Mark == _epoch) continue;
                Write(_out, table, s);
                budget--;
            }
            budget--;
            section.Cursor = ScanCursor.Next(section.Cursor, mask);
            if (section.Cursor == 0)
            {
                section.Done = true;
                section.Detached = null;
                _current++;
            }
        }
        return Complete;
    }

    public override ReadOnlySpan<byte> Drain()
    {
        var bytes = _out.Written;
        return bytes;
    }

    public override void Drained() => _out.Clear();

    public override void Abandon()
    {
        Release();
        Complete = true;
    }

    public override void Preserve(RedisDatabase db, int slot)
    {
        var section = _sections[db.Index];
        if (section.Done)
        {
            db.Table.At(slot).Mark = _epoch; // cannot happen: a finished section has marked everything it held
            return;
        }
        var target = db.Index == _current && section.Started ? _out : section.Early ??= new RdbWriter { Compress = _out.Compress };
        int before = target.Size;
        Write(target, db.Table, slot);
        PreservedBytes += target.Size - before;
    }

    public override void Detach(RedisDatabase db, KeyTable table)
    {
        var section = _sections[db.Index];
        // A second FLUSHDB drops only entries born after T (all marked): the first detached table is the one to finish.
        if (!section.Done && section.Detached is null) section.Detached = table;
    }

    private void Write(RdbWriter output, KeyTable table, int slot)
    {
        table.At(slot).Mark = _epoch;
        var key = table.View(slot);
        if (key.HasExpire && key.ExpireAtMs < AtMs) return; // already logically gone at T
        _format.WriteKey(output, key);
        KeysWritten++;
    }

    private void Release()
    {
        foreach (var db in _databases)
            if (ReferenceEquals(db.Snapshot, this)) db.Snapshot = null;
    }
}
