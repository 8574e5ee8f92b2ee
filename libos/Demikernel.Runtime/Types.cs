using System.Diagnostics.CodeAnalysis;

namespace Demikernel.Runtime;

/// <summary>A queue descriptor: names a socket or memory queue inside one libOS instance.</summary>
public readonly record struct QDesc(int Value)
{
    public static readonly QDesc Invalid = new(-1);
    public bool IsValid => Value >= 0;
    public override string ToString() => $"qd{Value}";
}

/// <summary>A queue token: names one outstanding asynchronous operation (slot index and generation).</summary>
public readonly record struct QToken(ulong Value)
{
    public static readonly QToken Invalid = default;
    internal QToken(int slot, uint generation) : this(((ulong)generation << 32) | (uint)slot) { }
    internal int Slot => (int)(uint)Value;
    internal uint Generation => (uint)(Value >> 32);
    public override string ToString() => $"qt{Value:x}";
}

/// <summary>What kind of operation a <see cref="QResult"/> completes.</summary>
public enum OpCode : byte
{
    Invalid = 0,
    Push,
    Pop,
    Accept,
    Connect,
    Close,
    Failed,
}

public enum SocketKind : byte
{
    /// <summary>A TCP stream socket.</summary>
    Stream = 1,
    /// <summary>A UDP datagram socket.</summary>
    Datagram = 2,
}

/// <summary>Socket options the queue API understands (mapped by each transport).</summary>
public enum SocketOption : byte
{
    /// <summary>Value: linger seconds, or -1 for off.</summary>
    Linger = 1,
    TcpNoDelay,
    ReusePort,
    KeepAlive,
    ReuseAddress,
    /// <summary>Seconds of idle before the first keepalive probe (Linux TCP_KEEPIDLE).</summary>
    TcpKeepIdle,
    /// <summary>Seconds between keepalive probes (TCP_KEEPINTVL).</summary>
    TcpKeepInterval,
    /// <summary>Unanswered probes before the connection is dropped (TCP_KEEPCNT).</summary>
    TcpKeepCount,
}

/// <summary>
/// The result of a completed operation. <see cref="Ret"/> is 0 on success or an errno (see <see cref="Errno"/>);
/// on failure <see cref="Opcode"/> is <see cref="OpCode.Failed"/>.
/// </summary>
public readonly struct QResult
{
    public QResult(OpCode opcode, QDesc qd, QToken qt, int ret, Sga sga = default, QDesc acceptedQd = default, InetEndpoint address = default)
    {
        Opcode = ret == 0 ? opcode : OpCode.Failed;
        Qd = qd;
        Qt = qt;
        Ret = ret;
        Sga = sga;
        AcceptedQd = acceptedQd;
        Address = address;
    }

    public OpCode Opcode { get; }
    public QDesc Qd { get; }
    public QToken Qt { get; }
    /// <summary>0 on success, else an errno value.</summary>
    public int Ret { get; }
    /// <summary>For POP: the data (owned by the application, which frees it). Empty means the peer closed.</summary>
    public Sga Sga { get; }
    /// <summary>For ACCEPT: the new connection's descriptor.</summary>
    public QDesc AcceptedQd { get; }
    /// <summary>For ACCEPT: the peer; for POP on a datagram socket: the sender.</summary>
    public InetEndpoint Address { get; }

    [MemberNotNullWhen(false, nameof(ErrorName))]
    public bool Succeeded => Ret == 0;
    public string? ErrorName => Ret == 0 ? null : Errno.Name(Ret);
    public override string ToString() => Ret == 0 ? $"{Opcode} {Qd} ok" : $"{Opcode} {Qd} {Errno.Name(Ret)}";
}

/// <summary>A snapshot of a libOS instance's counters.</summary>
/// <param name="ScheduledTasks">Tasks on the scheduler (coroutines, pending operations, timers' owners).</param>
/// <param name="PendingTimers">Timers armed.</param>
/// <param name="SchedulerRuns">Tasks run since the start.</param>
/// <param name="BuffersOutstanding">Pool buffers not returned (held by the application or in flight).</param>
/// <param name="OpenDescriptors">Descriptors open.</param>
/// <param name="OutstandingOperations">Operations started and not yet taken by a wait or an await.</param>
public readonly record struct LibOSCounters(
    int ScheduledTasks, int PendingTimers, long SchedulerRuns, int BuffersOutstanding, int OpenDescriptors, int OutstandingOperations);
