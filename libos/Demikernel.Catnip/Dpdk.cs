using System.Runtime.InteropServices;

namespace Demikernel.Catnip;

/// <summary>
/// The P/Invoke surface of catnip's native shim (<c>native/catnip_shim.c</c>, built into <c>libcatnip_shim.so</c>
/// against DPDK 22.11). Every call is blittable (pointers, integers), so <see cref="LibraryImportAttribute"/> emits no
/// marshalling; the hot ones (<see cref="Rx"/>, <see cref="Tx"/>, <see cref="AllocBulk"/>, <see cref="FreeBulk"/>) move a
/// whole burst per call. All the unsafe code of catnip's control path is here.
/// </summary>
internal static unsafe partial class Dpdk
{
    private const string Shim = "catnip_shim";

    [LibraryImport(Shim, EntryPoint = "catnip_eal_init")]
    public static partial int EalInit(int argc, byte** argv);

    [LibraryImport(Shim, EntryPoint = "catnip_strerror")]
    public static partial byte* StrError(int errnum);

    [LibraryImport(Shim, EntryPoint = "catnip_port_count")]
    public static partial ushort PortCount();

    [LibraryImport(Shim, EntryPoint = "catnip_port_driver")]
    public static partial byte* PortDriver(ushort port);

    [LibraryImport(Shim, EntryPoint = "catnip_pool_create")]
    public static partial nint PoolCreate(byte* name, uint count, uint cache, ushort dataRoom, int* error);

    [LibraryImport(Shim, EntryPoint = "catnip_pool_free")]
    public static partial void PoolFree(nint pool);

    [LibraryImport(Shim, EntryPoint = "catnip_pool_in_use")]
    public static partial uint PoolInUse(nint pool);

    [LibraryImport(Shim, EntryPoint = "catnip_port_start")]
    public static partial int PortStart(ushort port, nint pool, ushort rxDescriptors, ushort txDescriptors, ushort mtu, int checksumOffload);

    /// <summary>The checksum offloads the port runs with: <see cref="TransmitChecksums"/> | <see cref="ReceiveChecksums"/>.</summary>
    [LibraryImport(Shim, EntryPoint = "catnip_port_checksums")]
    public static partial int PortChecksums(ushort port);

    /// <summary>The device fills in the IPv4 header's, TCP's and UDP's checksums of what it sends.</summary>
    public const int TransmitChecksums = 1;

    /// <summary>The device checks the IPv4 header's, TCP's and UDP's checksums of what it receives, and says so per frame.</summary>
    public const int ReceiveChecksums = 2;

    /// <summary>Per received frame (<see cref="Rx"/>'s checksum array): both checksums good.</summary>
    public const byte ChecksumsGood = 0;

    /// <summary>Per received frame: the device found a bad IPv4 header or TCP/UDP checksum.</summary>
    public const byte ChecksumsBad = 1;

    [LibraryImport(Shim, EntryPoint = "catnip_port_stop")]
    public static partial int PortStop(ushort port);

    [LibraryImport(Shim, EntryPoint = "catnip_port_mac")]
    public static partial int PortMac(ushort port, byte* mac);

    [LibraryImport(Shim, EntryPoint = "catnip_port_mtu")]
    public static partial int PortMtu(ushort port, ushort* mtu);

    [LibraryImport(Shim, EntryPoint = "catnip_port_link_up")]
    public static partial int PortLinkUp(ushort port);

    // The burst calls run on every pass of the libOS loop (rx even when idle) and return within a microsecond or so
    // (no PMD blocks in them: af_packet, af_xdp and memif kick with a MSG_DONTWAIT sendto or an eventfd write at
    // most), so they skip the GC transition, as Free, AllocOne and Chain do: it cost tens of nanoseconds a call.
    [LibraryImport(Shim, EntryPoint = "catnip_rx")]
    [SuppressGCTransition]
    public static partial ushort Rx(ushort port, nint* mbufs, byte** data, uint* length, ushort* headroom, ushort* room, byte* checksums, ushort count);

    /// <summary>rte_pktmbuf_free of one received mbuf the stack or the application held (short, never blocks).</summary>
    [LibraryImport(Shim, EntryPoint = "catnip_free")]
    [SuppressGCTransition]
    public static partial void Free(nint mbuf);

    [LibraryImport(Shim, EntryPoint = "catnip_read")]
    public static partial uint Read(nint mbuf, byte* destination, uint capacity);

    [LibraryImport(Shim, EntryPoint = "catnip_free_bulk")]
    [SuppressGCTransition]
    public static partial void FreeBulk(nint* mbufs, uint count);

    [LibraryImport(Shim, EntryPoint = "catnip_alloc_bulk")]
    [SuppressGCTransition]
    public static partial int AllocBulk(nint pool, nint* mbufs, byte** data, uint* room, uint count);

    [LibraryImport(Shim, EntryPoint = "catnip_port_multiseg")]
    public static partial int PortMultiSegment(ushort port);

    [LibraryImport(Shim, EntryPoint = "catnip_alloc_one")]
    [SuppressGCTransition]
    public static partial nint AllocOne(nint pool, byte** buffer, uint* bufferLength, uint* headroom);

    [LibraryImport(Shim, EntryPoint = "catnip_chain")]
    [SuppressGCTransition]
    public static partial nint Chain(nint headerPool, nint payload, byte* data, uint length, byte* headers, uint headerLength);

    [LibraryImport(Shim, EntryPoint = "catnip_tx")]
    [SuppressGCTransition]
    public static partial ushort Tx(ushort port, nint* mbufs, uint* length, ushort count);

    /// <summary>DPDK's text for an errno-style code (its own codes included).</summary>
    public static string ErrorText(int errnum)
    {
        errnum = Math.Abs(errnum);
        return Marshal.PtrToStringUTF8((nint)StrError(errnum)) ?? $"error {errnum}";
    }

    /// <summary>
    /// rte_eal_init with <paramref name="args"/> (argv[0] is added). Returns 0 or a negative errno. DPDK allows this
    /// once per process.
    /// </summary>
    public static int InitEal(IReadOnlyList<string> args)
    {
        var all = new List<string>(args.Count + 1) { "demikernel-catnip" };
        all.AddRange(args);
        // EAL keeps pointers into argv (and may permute it), so the strings live for the process: a one-time cost.
        var argv = (byte**)NativeMemory.Alloc((nuint)(all.Count + 1), (nuint)sizeof(nint));
        for (int i = 0; i < all.Count; i++) argv[i] = (byte*)Marshal.StringToCoTaskMemUTF8(all[i]);
        argv[all.Count] = null;
        int rc = EalInit(all.Count, argv);
        return rc < 0 ? rc : 0;
    }
}
