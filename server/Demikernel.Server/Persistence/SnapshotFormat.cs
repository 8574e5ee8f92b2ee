using Demikernel.Server.Store;

namespace Demikernel.Server.Persistence;

/// <summary>
/// What a snapshot's bytes look like: the seam between the walk (<see cref="Snapshot"/>, <see cref="RdbImage"/>) and
/// the file format. Implemented by structs and used as a generic constraint, so the JIT specialises the walk for each
/// format and the per-key call is direct (the RDB path costs what it did before the seam).
/// <code>
///   file = Header  ( SelectDb  Key* )*  End  [ CRC64 trailer, appended by RdbFileWriter for RDB images ]
///   RdbSnapshotFormat      "REDIS0010" AUX*, SELECTDB+RESIZEDB, [EXPIRETIME_MS] type key value, EOF   + CRC64
///   AofCommandFormat       [#TS:], SELECT n, SET/RPUSH/SADD/ZADD/HMSET/XADD... [PEXPIREAT], nothing     no trailer
/// </code>
/// </summary>
internal interface ISnapshotFormat
{
    void WriteHeader(RdbWriter w);

    /// <summary>Starts database <paramref name="db"/> (only databases with keys are started).</summary>
    void WriteSelectDb(RdbWriter w, int db, long keys, long expires);

    /// <summary>One key with its value and expiry.</summary>
    void WriteKey(RdbWriter w, in KeyView key);

    void WriteEnd(RdbWriter w);
}

/// <summary>The RDB image (version 10) redis-server writes for dump.rdb and for an AOF base with
/// aof-use-rdb-preamble yes: <see cref="RdbFormat"/>'s file layer.</summary>
/// <remarks>The function libraries (FUNCTION LOAD) follow the AUX fields, one FUNCTION2 opcode and code string each,
/// as redis-server 7.0's rdbSaveFunctions writes them.</remarks>
internal readonly struct RdbSnapshotFormat(long unixTimeSeconds, long usedMemory, bool aofBase, byte[][]? functions = null,
    RdbReplicationInfo? replication = null, RdbKeyAccess access = default) : ISnapshotFormat
{
    public void WriteHeader(RdbWriter w)
    {
        RdbFormat.WriteHeader(w, unixTimeSeconds, usedMemory, aofBase, replication);
        foreach (var code in functions ?? [])
        {
            w.Byte(RdbFormat.OpFunction2);
            w.String(code);
        }
    }

    public void WriteSelectDb(RdbWriter w, int db, long keys, long expires) => RdbFormat.WriteSelectDb(w, db, keys, expires);

    public void WriteKey(RdbWriter w, in KeyView key) => RdbFormat.WriteKeyValue(w, key, access);

    public void WriteEnd(RdbWriter w) => RdbFormat.WriteEnd(w);
}
