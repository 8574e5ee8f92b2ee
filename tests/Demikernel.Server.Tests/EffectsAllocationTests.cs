using System.Buffers;
using Demikernel.Resp;
using Demikernel.Server.Commands;
using Demikernel.Server.Propagation;

namespace Demikernel.Server.Tests;

/// <summary>With an effects consumer attached, steady-state writes still allocate nothing per command.</summary>
public sealed class EffectsAllocationTests : IDisposable
{
    private const int Writes = 10_000; // per measured run

    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    /// <summary>Serialises every unit as an AOF would, into one reused buffer.</summary>
    private sealed class ReusingConsumer : IEffectsConsumer
    {
        private readonly ArrayBufferWriter<byte> _output = new(4096);
        private int _selectedDb = -1;

        public PropagationTargets Accepts => PropagationTargets.Aof;

        public long Units { get; private set; }
        public long Bytes { get; private set; }

        public void Append(in EffectsUnit unit)
        {
            _output.ResetWrittenCount();
            EffectsStream.Write(_output, unit, ref _selectedDb, aof: true);
            Units++;
            Bytes += _output.WrittenCount;
        }
    }

    [Theory]
    [InlineData(true, "SET", "key:000000000042", "xyz")]
    [InlineData(true, "INCR", "counter")]
    [InlineData(false, "LPUSH", "list", "item")]
    [InlineData(false, "SET", "key:000000000042", "xyz", "EX", "100")]
    public void WritesWithAConsumerAllocateNothingMore(bool allocationFree, params string[] command)
    {
        long without = Measure(command, null);
        var consumer = new ReusingConsumer();
        long with = Measure(command, consumer);
        Assert.True(consumer.Units >= Writes, "every write must reach the consumer");
        Assert.True(consumer.Bytes > 0);
        // The store may allocate for what it keeps (a list element); propagation adds nothing to that. The margin is
        // under one byte a write: what the store keeps varies by a few hundred bytes between tries (a fresh-clone CI
        // run once measured 585,912 against 585,008 for LPUSH), while one object per write would be 240,000 or more.
        Assert.True(with < without + Writes, $"{Writes:N0} x {command[0]}: {with} bytes allocated with a consumer, {without} without");
        if (allocationFree) Assert.Equal(0, with);
    }

    /// <summary>Bytes allocated by <see cref="Writes"/> runs of <paramref name="command"/> (the least of a few tries).</summary>
    private long Measure(string[] command, IEffectsConsumer? consumer)
    {
        if (consumer is not null) _h.Server.Effects.Add(consumer);
        _h.Run("CONFIG", "SET", "slowlog-log-slower-than", "-1"); // a slow call (a busy machine) is logged: that allocates
        var request = CommandHarness.EncodeRequest(command);
        var scanner = new RespRequestScanner();
        var args = new RespArgs(16);
        var reply = new ReplyBuffer(_h.LibOS);
        void RunOnce()
        {
            scanner.TryScan(request, args, out int consumed, out _);
            var context = new CommandContext(request, args, _h.Client, _h.Server, reply) { FrameLength = consumed };
            _h.Server.Commands.Execute(ref context);
            _h.LibOS.SgaFree(reply.Take());
        }
        // DEL before each run: the same list length in every try
        long best = AllocationGate.SteadyStateBytes(RunOnce, callsPerRun: Writes, beforeEachRun: () => _h.Run("DEL", "list"));
        if (consumer is not null) _h.Server.Effects.Remove(consumer);
        return best;
    }
}
