using System.Runtime.CompilerServices;

namespace Demikernel.Catmem;

/// <summary>
/// The two kinds of shared file and their headers (all fields little-endian, zero when the file is created).
/// <code>
///   listener  {dir}/demikernel-catmem.{port}
///     +0 magic  +8 owner pid i32  +12 listening i32  +16 owner's doorbell id  +64 connects posted i64  +128 slots: 64 x u64 connection ids (0 = free)
///   connection  {dir}/demikernel-catmem.{port}.{client pid}.{seq}   (unlinked by the server once it has mapped it)
///     +0 magic  +8 ring capacity i64  +16 accepted i32  +20 client pid  +24 server pid  +28 client gone  +32 server gone
///     +40 client's doorbell id  +48 server's doorbell id
///     +64  ring client→server (SpscRing: 192 B header + capacity)
///     +64+192+capacity  ring server→client
/// </code>
/// A connect writes its connection id into a free slot with a compare-and-swap (several clients may race for one
/// listener), then bumps "connects posted"; the listener scans the slots only when that count moved.
/// </summary>
internal static unsafe class Layout
{
    public const ulong ListenerMagic = 0x4C4D454D43494D44; // "DMICMEML"
    public const ulong ConnectionMagic = 0x324D454D43494D44; // "DMICMEM2": rings of records (SpscRing); "DMICMEMC" had a tail counter
    public const int Slots = 64;
    public const int ListenerBytes = 128 + Slots * 8;
    public const int ConnectionHeaderBytes = 64;

    public static string ListenerPath(string directory, ushort port) => System.IO.Path.Combine(directory, $"demikernel-catmem.{port}");

    public static string ConnectionPath(string directory, ushort port, ulong id) =>
        System.IO.Path.Combine(directory, $"demikernel-catmem.{port}.{(uint)(id >> 32)}.{(uint)id}");

    public static long ConnectionBytes(long capacity) => ConnectionHeaderBytes + 2 * (SpscRing.HeaderBytes + capacity);

    public static ref ulong Magic(byte* segment) => ref Unsafe.AsRef<ulong>(segment);

    // listener fields
    public static ref int OwnerPid(byte* listener) => ref Unsafe.AsRef<int>(listener + 8);
    public static ref int Listening(byte* listener) => ref Unsafe.AsRef<int>(listener + 12);
    public static ref ulong OwnerBell(byte* listener) => ref Unsafe.AsRef<ulong>(listener + 16);
    public static ref long Posted(byte* listener) => ref Unsafe.AsRef<long>(listener + 64);
    public static ref ulong Slot(byte* listener, int i) => ref Unsafe.AsRef<ulong>(listener + 128 + i * 8);

    // connection fields
    public static ref long Capacity(byte* connection) => ref Unsafe.AsRef<long>(connection + 8);
    public static ref int Accepted(byte* connection) => ref Unsafe.AsRef<int>(connection + 16);
    public static ref int ClientPid(byte* connection) => ref Unsafe.AsRef<int>(connection + 20);
    public static ref int ServerPid(byte* connection) => ref Unsafe.AsRef<int>(connection + 24);
    public static ref int ClientGone(byte* connection) => ref Unsafe.AsRef<int>(connection + 28);
    public static ref int ServerGone(byte* connection) => ref Unsafe.AsRef<int>(connection + 32);
    public static ref ulong ClientBell(byte* connection) => ref Unsafe.AsRef<ulong>(connection + 40);
    public static ref ulong ServerBell(byte* connection) => ref Unsafe.AsRef<ulong>(connection + 48);

    public static SpscRing ClientToServer(byte* connection, long capacity) => new(connection + ConnectionHeaderBytes, capacity);

    public static SpscRing ServerToClient(byte* connection, long capacity) =>
        new(connection + ConnectionHeaderBytes + SpscRing.HeaderBytes + capacity, capacity);

    /// <summary>Whether a process still runs (a dead owner's files are stale; a dead peer's connection is reset).</summary>
    public static bool IsAlive(int pid) => pid > 0 && Directory.Exists($"/proc/{pid}");
}
