using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Demikernel.Runtime;
using Demikernel.Server.Persistence;
using Demikernel.Server.Store;

namespace Demikernel.Server.Replication;

/// <summary>
/// repl-diskless-sync yes: the snapshot's bytes go straight to the replicas' sockets, as redis-server 7.0's
/// rdbSaveToSlavesSockets (without its fork: the same fork-less snapshot as BGSAVE, stepped in 200 µs slices):
/// <code>
///   "+FULLRESYNC replid offset\r\n$EOF:&lt;40 random hex&gt;\r\n" ─▶ slices of the RDB image (each pushed to every
///   replica still connected, the next slice once they all took it) ─▶ CRC64 trailer ─▶ the 40 bytes of the mark
///   ─▶ the replicas go online and are fed the stream from the offset the snapshot started at
/// </code>
/// Only replicas that announced <c>capa eof</c> can take this; the others get the disk-based transfer.
/// </summary>
internal sealed class DisklessSync
{
    private const int Chunk = 64 * 1024;
    private static readonly long SliceTicks = Stopwatch.Frequency / 5000; // 200 µs

    private readonly ReplicationManager _manager;
    private readonly Snapshot _snapshot;
    private readonly ReplicaLink[] _targets;
    private readonly long _offset;
    private readonly string _replid;
    private readonly byte[] _mark;
    private readonly bool _checksum;

    public DisklessSync(ReplicationManager manager, Snapshot snapshot, ReplicaLink[] targets, long offset, string replid, bool checksum)
    {
        _manager = manager;
        _snapshot = snapshot;
        _targets = targets;
        _offset = offset;
        _replid = replid;
        _checksum = checksum;
        _mark = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20)));
    }

    public Snapshot Snapshot => _snapshot;

    public bool Finished { get; private set; }

    public async ValueTask RunAsync()
    {
        var libos = _manager.Server.LibOS;
        try
        {
            foreach (var t in _targets) t.StartDisklessSync(_offset);
            await PushAllAsync(libos, Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"+FULLRESYNC {_replid} {_offset}\r\n$EOF:{Encoding.ASCII.GetString(_mark)}\r\n")));
            ulong crc = 0;
            while (true)
            {
                long start = Stopwatch.GetTimestamp();
                do _snapshot.Step(256);
                while (!_snapshot.Complete && Stopwatch.GetTimestamp() - start < SliceTicks);
                var bytes = _snapshot.Drain().ToArray(); // a full sync's copy, not the steady state
                if (_checksum) crc = RdbCrc64.Compute(crc, bytes);
                await PushAllAsync(libos, bytes);
                _snapshot.Drained();
                if (_snapshot.Complete) break;
                await libos.Yield();
            }
            var tail = new byte[8 + _mark.Length];
            BinaryPrimitives.WriteUInt64LittleEndian(tail, _checksum ? crc : 0);
            _mark.CopyTo(tail, 8);
            await PushAllAsync(libos, tail);
            foreach (var t in _targets)
                if (t.Alive) t.DisklessSent();
        }
        finally
        {
            if (!_snapshot.Complete) _snapshot.Abandon(); // only on shutdown: Stop() kills the transfer
            Finished = true;
        }
    }

    /// <summary>Pushes <paramref name="bytes"/> to every replica still connected and waits for all of them.</summary>
    private async ValueTask PushAllAsync(DemiLibOS libos, byte[] bytes)
    {
        if (bytes.Length == 0) return;
        var pending = new List<(ReplicaLink Target, Sga Sga, ValueTask<QResult> Push)>(_targets.Length * (bytes.Length / Chunk + 1));
        foreach (var t in _targets)
        {
            if (!t.Alive) continue;
            for (int at = 0; at < bytes.Length; at += Chunk)
            {
                int n = Math.Min(Chunk, bytes.Length - at);
                var sga = libos.SgaAlloc(n);
                bytes.AsSpan(at, n).CopyTo(sga.Span);
#pragma warning disable CA2012 // each push is stored once and awaited exactly once below
                pending.Add((t, sga, t.Session.Push(sga)));
#pragma warning restore CA2012
            }
            _manager.Server.Stats.NetOutputBytes += bytes.Length;
        }
        foreach (var (target, sga, push) in pending)
        {
            var result = await push;
            libos.SgaFree(sga);
            if (!result.Succeeded) target.Close(null);
        }
    }

}
