using Demikernel.Server.Store;

namespace Demikernel.Server.Persistence;

/// <summary>
/// A point-in-time image of every database, serialized as an RDB file while clients keep writing, without fork.
/// <code>
///   Begin (instant T)          Step (slices on the libOS thread)                   any lookup/delete of an entry
///   ─────────────────          ─────────────────────────────────                   not yet written (mark ≠ epoch)
///   epoch++ on every db        per database, in index order:                       ─────────────────────────────
///   remember keys/expires      SELECTDB + RESIZEDB, the entries preserved early,   write it now, as it is (before
///   header into the output     then a reverse-binary cursor over the bucket table  the caller changes it), into the
///                              writes every entry whose mark ≠ epoch, marks it     current section, or into that
///                              ...EOF; the caller appends the CRC64                database's "early" buffer
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
internal sealed class Snapshot : ISnapshotObserver
{
    private sealed class Section
    {
        public long Keys;
        public long Expires;
        public RedisEntry?[]? Detached;
        public ulong Cursor;
        public bool Started;
        public bool Done;
        public RdbWriter? Early;
    }

    private readonly RedisDatabase[] _databases;
    private readonly Section[] _sections;
    private readonly RdbWriter _out;
    private readonly byte _epoch;
    private int _current;

    private Snapshot(RedisDatabase[] databases, long atMs, bool compress)
    {
        _databases = databases;
        AtMs = atMs;
        _out = new RdbWriter { Compress = compress };
        _sections = new Section[databases.Length];
        _epoch = (byte)(databases[0].SnapshotEpoch + 1);
        for (int i = 0; i < databases.Length; i++)
        {
            var db = databases[i];
            _sections[i] = new Section { Keys = db.Count, Expires = db.ExpiresCount };
            KeysTotal += db.Count;
            db.SnapshotEpoch = _epoch;
            db.Snapshot = this;
        }
    }

    /// <summary>Starts a snapshot of <paramref name="databases"/> as they are now; the RDB header is the first output.</summary>
    public static Snapshot Begin(RedisDatabase[] databases, long nowMs, long usedMemory, bool aofBase, bool compress)
    {
        foreach (var db in databases)
            if (db.Snapshot is not null) throw new InvalidOperationException("a snapshot is already running");
        var snapshot = new Snapshot(databases, nowMs, compress);
        RdbFormat.WriteHeader(snapshot._out, nowMs / 1000, usedMemory, aofBase);
        return snapshot;
    }

    /// <summary>The instant the snapshot represents (unix ms).</summary>
    public long AtMs { get; }

    /// <summary>Keys in the databases at the start (expired ones included, as DBSIZE counts).</summary>
    public long KeysTotal { get; }

    /// <summary>Keys written so far.</summary>
    public long KeysWritten { get; private set; }

    /// <summary>Bytes written for entries preserved ahead of the walk (the analogue of fork's copy-on-write).</summary>
    public long PreservedBytes { get; private set; }

    /// <summary>True once every database was written and the EOF opcode is in the output.</summary>
    public bool Complete { get; private set; }

    /// <summary>Serialized bytes not yet taken with <see cref="Drain"/>.</summary>
    public int Pending => _out.Size;

    /// <summary>
    /// Walks the databases for up to <paramref name="budget"/> units of work (an entry written or a bucket visited).
    /// Returns <see cref="Complete"/>.
    /// </summary>
    public bool Step(int budget)
    {
        while (budget > 0 && !Complete)
        {
            if (_current == _databases.Length)
            {
                RdbFormat.WriteEnd(_out);
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
                RdbFormat.WriteSelectDb(_out, db.Index, section.Keys, section.Expires);
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
            ulong mask = (ulong)table.Length - 1;
            for (var e = table[section.Cursor & mask]; e is not null; e = e.Next)
            {
                if (e.SnapshotMark == _epoch) continue;
                Write(_out, e);
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

    /// <summary>Runs to the end in one go (SAVE, SHUTDOWN).</summary>
    public void RunToEnd()
    {
        while (!Step(int.MaxValue)) { }
    }

    /// <summary>The bytes serialized since the last call; valid until the next call of any member.</summary>
    public ReadOnlySpan<byte> Drain()
    {
        var bytes = _out.Written;
        return bytes;
    }

    /// <summary>Forgets what <see cref="Drain"/> returned.</summary>
    public void Drained() => _out.Clear();

    /// <summary>
    /// Stops without finishing, for FLUSHALL (which drops every key, so no stale mark can outlive it) and shutdown.
    /// Any other caller must keep stepping instead, so that every entry ends up with the current mark.
    /// </summary>
    public void Abandon()
    {
        Release();
        Complete = true;
    }

    public void Preserve(RedisDatabase db, RedisEntry entry)
    {
        var section = _sections[db.Index];
        if (section.Done)
        {
            entry.SnapshotMark = _epoch; // cannot happen: a finished section has marked everything it held
            return;
        }
        var target = db.Index == _current && section.Started ? _out : section.Early ??= new RdbWriter { Compress = _out.Compress };
        int before = target.Size;
        Write(target, entry);
        PreservedBytes += target.Size - before;
    }

    public void Detach(RedisDatabase db, RedisEntry?[] table)
    {
        var section = _sections[db.Index];
        // A second FLUSHDB drops only entries born after T (all marked): the first detached table is the one to finish.
        if (!section.Done && section.Detached is null) section.Detached = table;
    }

    private void Write(RdbWriter output, RedisEntry e)
    {
        e.SnapshotMark = _epoch;
        if (e.HasExpire && e.ExpireAtMs < AtMs) return; // already logically gone at T
        RdbFormat.WriteKeyValue(output, e);
        KeysWritten++;
    }

    private void Release()
    {
        foreach (var db in _databases)
            if (ReferenceEquals(db.Snapshot, this)) db.Snapshot = null;
    }
}
