using System.Text;
using Demikernel.Resp;
using Demikernel.Server.Commands;
using Demikernel.Server.Store;

namespace Demikernel.Server.Persistence;

/// <summary>What reading one AOF file found.</summary>
internal readonly record struct AofFileLoad(
    bool Ok,
    string? Error,
    long Commands,
    /// <summary>Bytes of complete commands (or of the RDB preamble) from the start of the file.</summary>
    long ValidLength,
    /// <summary>The file ended inside a command or inside MULTI (a torn tail), at <see cref="ValidLength"/>.</summary>
    bool Truncated);

/// <summary>
/// Replays AOF files as redis-server's loadSingleAppendOnlyFile does: an RDB preamble (a file starting with "REDIS")
/// through <see cref="RdbLoader"/>, then RESP arrays of bulk strings run through the real dispatcher by a client
/// without a connection; <c>#</c> lines are annotations (timestamps) and skipped. A file that ends inside a command,
/// or inside MULTI, is reported as truncated at the end of the last complete command (before the MULTI); anything
/// else malformed is an error naming the file and offset.
/// </summary>
internal sealed class AofLoader
{
    private readonly RedisServer _server;
    private readonly ClientState _client;
    private readonly ReplyBuffer _reply;
    private readonly RespRequestScanner _scanner = new();
    private readonly RespArgs _args = new(16);

    public AofLoader(RedisServer server)
    {
        _server = server;
        _client = new ClientState(0, default, default, default, server.NowMs) { Authenticated = true, MustObey = true, Name = "aof-loader", NoStats = true };
        _reply = new ReplyBuffer(server.LibOS);
    }

    /// <summary>Loads one file's bytes. <paramref name="allowRdb"/>: the base file may be (or start with) an RDB.</summary>
    /// <param name="progress">Told the bytes consumed before each command; false stops the load (shutdown).</param>
    public AofFileLoad Load(ReadOnlySpan<byte> data, string name, bool allowRdb, Func<long, bool>? progress = null)
    {
        long commands = 0;
        int pos = 0;
        if (allowRdb && data.StartsWith("REDIS"u8))
        {
            var rdb = RdbLoader.Load(data, _server.Databases, _server.NowMs, verifyChecksum: !_server.Diagnostics.SkipChecksumValidation, _server.Functions.LoadFromRdb, progress: progress,
                usedMemory: _server.Loading is { } loading ? usedMem => loading.RdbUsedMemory = usedMem : null);
            if (!rdb.Ok) return new(false, $"Bad RDB preamble in the AOF file {name}: {rdb.Error}", 0, 0, false);
            pos = (int)rdb.BytesUsed;
        }
        int validBeforeMulti = pos;
        try
        {
            while (pos < data.Length)
            {
                if (progress is not null && !progress(pos)) return new(false, $"Loading {name} stopped: the server is shutting down", commands, pos, false);
                byte first = data[pos];
                if (first == '#')
                {
                    int eol = data[pos..].IndexOf((byte)'\n');
                    // A torn annotation ends the file without harm (redis-server's fgets reads the partial line and
                    // skips it, even with aof-load-truncated no); ValidLength stops before it so that the caller
                    // cuts it off before appending.
                    if (eol < 0) break;
                    pos += eol + 1;
                    continue;
                }
                if (first != '*') return Bad(name, pos);
                var status = _scanner.TryScan(data[pos..], _args, out int consumed, out _);
                if (status == RespScanStatus.NeedMoreData) return Truncated(name, pos, validBeforeMulti, commands);
                if (status == RespScanStatus.Error || _args.Count == 0) return Bad(name, pos);
                var frame = data.Slice(pos, consumed);
                if (!_client.InMulti) validBeforeMulti = pos;
                if (!_server.Commands.TryGet(_args.Get(frame, 0), out _))
                    return new(false, $"Unknown command '{Encoding.UTF8.GetString(_args.Get(frame, 0))}' reading the append only file {name}", commands, pos, false);
                var context = new CommandContext(frame, _args, _client, _server, _reply) { FrameLength = consumed };
                _server.Commands.Execute(ref context);
                _reply.Discard();
                commands++;
                pos += consumed;
            }
            if (_client.InMulti) return Truncated(name, data.Length, validBeforeMulti, commands, insideMulti: true);
            if (_server.Blocking.HasReady) _server.Blocking.ServeReady();
            return new(true, null, commands, pos, false);
        }
        finally
        {
            _reply.Discard();
        }
    }

    /// <summary>Drops a transaction left open by a truncated file, so the next file (or clients) start clean.</summary>
    public void ResetTransaction()
    {
        if (!_client.InMulti) return;
        _client.InMulti = false;
        _client.MultiAborted = false;
        _client.MultiQueue.Clear();
    }

    private AofFileLoad Truncated(string name, int at, int validBeforeMulti, long commands, bool insideMulti = false) =>
        new(false, $"Unexpected end of file reading the append only file {name} at offset {at}", commands,
            _client.InMulti || insideMulti ? validBeforeMulti : at, true);

    private static AofFileLoad Bad(string name, int at) =>
        new(false, $"Bad file format reading the append only file {name} at offset {at}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>", 0, at, false);
}
