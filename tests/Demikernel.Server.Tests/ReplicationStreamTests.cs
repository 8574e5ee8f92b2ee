using Demikernel.Resp;
using Demikernel.Server.Commands;
using Demikernel.Server.Replication;

namespace Demikernel.Server.Tests;

/// <summary>The replication stream on the master's side: the backlog ring's offsets, its growth for a lagging
/// replica, and writes fed to it without allocating.</summary>
public sealed class ReplicationStreamTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    private static byte[] Bytes(int from, int count) => Enumerable.Range(from, count).Select(i => (byte)i).ToArray();

    [Fact]
    public void BacklogKeepsTheLastSizeBytesAcrossTheWrap()
    {
        var backlog = new ReplicationBacklog(16 * 1024, end: 100);
        Assert.Equal(101, backlog.FirstOffset);
        Assert.Equal(0, backlog.HistLen);
        var all = new List<byte>();
        for (int i = 0; i < 10; i++)
        {
            var chunk = Bytes(i * 7, 5000);
            all.AddRange(chunk);
            backlog.Append(chunk, long.MaxValue);
        }
        Assert.Equal(100 + 50_000, backlog.End);
        Assert.Equal(16 * 1024, backlog.HistLen);
        Assert.Equal(backlog.End - 16 * 1024 + 1, backlog.FirstOffset);
        var tail = new byte[16 * 1024];
        backlog.CopyTo(backlog.FirstOffset - 1, tail);
        Assert.Equal(all.Skip(all.Count - tail.Length), tail);
    }

    [Fact]
    public void BacklogGrowsWhileAReplicaStillNeedsOlderBytes()
    {
        var backlog = new ReplicationBacklog(16 * 1024, end: 0);
        var all = new List<byte>();
        for (int i = 0; i < 20; i++)
        {
            var chunk = Bytes(i, 4000);
            all.AddRange(chunk);
            backlog.Append(chunk, oldestNeeded: 10); // a replica has sent only 10 bytes
        }
        Assert.True(backlog.HeldStart <= 10);
        var lagging = new byte[all.Count - 10];
        backlog.CopyTo(10, lagging);
        Assert.Equal(all.Skip(10), lagging);
        // PSYNC still only reaches back repl-backlog-size bytes
        Assert.Equal(16 * 1024, backlog.HistLen);
        backlog.Release(long.MaxValue);
        Assert.Equal(backlog.End - 16 * 1024, backlog.HeldStart);
    }

    [Fact]
    public void WritesReachTheStreamWithSelectAndAllocateNothing()
    {
        var replication = _h.Server.Replication;
        replication.StartHistory();
        Assert.Equal(0, replication.MasterReplOffset);
        _h.Run("SET", "a", "1");
        // SELECT 0 first, then the command, as redis-server's replication stream
        long expected = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"u8.Length + "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"u8.Length;
        Assert.Equal(expected, replication.MasterReplOffset);
        var stream = new byte[expected];
        replication.Backlog!.CopyTo(0, stream);
        Assert.Equal("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n", System.Text.Encoding.ASCII.GetString(stream));

        long before = replication.MasterReplOffset;
        long allocated = _h.SteadyStateAllocation(CommandHarness.EncodeRequest("SET", "key:000000000042", "xyz"));
        Assert.Equal(0, allocated);
        Assert.True(replication.MasterReplOffset > before + 100_000, "every SET must reach the stream");
    }

    /// <summary>redis.set_repl's one-sided targets: REPL_AOF keeps a script's command out of the replicas' stream,
    /// REPL_REPLICA puts it there (ScriptEffectsTests checks the AOF's side against redis-server). With no AOF the
    /// script's one command for replicas is not wrapped in MULTI/EXEC, as redis records only what some side takes.</summary>
    [Fact]
    public void SetReplChoosesTheReplicasSide()
    {
        var replication = _h.Server.Replication;
        replication.StartHistory();
        _h.Run("EVAL", "redis.set_repl(redis.REPL_AOF) redis.call('set', 'aof_only', 1) redis.set_repl(redis.REPL_REPLICA) " +
            "redis.call('set', 'replica_only', 1) redis.set_repl(redis.REPL_NONE) redis.call('set', 'nowhere', 1)", "0");
        var stream = new byte[replication.MasterReplOffset];
        replication.Backlog!.CopyTo(0, stream);
        Assert.Equal("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$12\r\nreplica_only\r\n$1\r\n1\r\n",
            System.Text.Encoding.ASCII.GetString(stream));
    }

    [Fact]
    public void ReplicaOnlyCommandsAndWaitAnswerAsRedis()
    {
        Assert.Equal("+OK\r\n", _h.Run("REPLCONF", "listening-port", "6380"));
        Assert.Equal("-ERR Unrecognized REPLCONF option: foo\r\n", _h.Run("REPLCONF", "foo", "bar"));
        Assert.Equal("-ERR timeout is negative\r\n", _h.Run("WAIT", "1", "-1"));
        Assert.Equal(":0\r\n", _h.Run("WAIT", "0", "0"));
        Assert.Equal("*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n", _h.Run("ROLE"));
        Assert.Equal("-ERR Invalid master port\r\n", _h.Run("REPLICAOF", "127.0.0.1", "notaport"));
    }
}
