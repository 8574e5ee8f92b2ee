using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Demikernel.Catpowder;

/// <summary>
/// The AF_XDP shim's P/Invoke surface (native/catpowder_xdp.c → libcatpowder_xdp.so, built from source with the
/// project). libxdp's ring helpers are static inline, so the ring work (fill/completion/rx/tx producer and consumer
/// indices) happens in the shim; every call is blittable. The per-frame and per-burst calls never block or enter the
/// kernel except for the explicit kick, so they skip the GC transition.
/// </summary>
internal static unsafe partial class Xsk
{
    private const string Shim = "catpowder_xdp";

    [LibraryImport(Shim, EntryPoint = "cp_xsk_open", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string ifname, uint queue, int mode, int attach, uint frames, uint frameSize, uint ringSize, out nint xsk, byte* err, int errLength);

    [LibraryImport(Shim, EntryPoint = "cp_xsk_zero_copy")]
    public static partial int ZeroCopy(nint xsk);

    /// <summary>Receive: up to <paramref name="max"/> frames' UMEM data offsets and lengths; the frames stay ours until <see cref="Fill"/>.</summary>
    [LibraryImport(Shim, EntryPoint = "cp_xsk_rx_take")]
    [SuppressGCTransition]
    public static partial int Take(nint xsk, ulong* addresses, uint* lengths, int max);

    /// <summary>Gives frames back to the fill ring in one submission; returns how many went back.</summary>
    [LibraryImport(Shim, EntryPoint = "cp_xsk_fill")]
    [SuppressGCTransition]
    public static partial int Fill(nint xsk, ulong* addresses, int count);

    [LibraryImport(Shim, EntryPoint = "cp_xsk_area")]
    public static partial byte* Area(nint xsk);

    [LibraryImport(Shim, EntryPoint = "cp_xsk_keep_area")]
    public static partial void KeepArea(nint xsk);

    [LibraryImport(Shim, EntryPoint = "cp_xsk_unmap")]
    public static partial void Unmap(byte* area, ulong size);

    [LibraryImport(Shim, EntryPoint = "cp_xsk_rx_ready")]
    [SuppressGCTransition]
    public static partial int ReceiveReady(nint xsk);

    [LibraryImport(Shim, EntryPoint = "cp_xsk_tx_reserve")]
    [SuppressGCTransition]
    public static partial byte* Reserve(nint xsk);

    [LibraryImport(Shim, EntryPoint = "cp_xsk_tx_commit")]
    [SuppressGCTransition]
    public static partial int Commit(nint xsk, uint length);

    /// <summary>Submits written descriptors and kicks the kernel (sendto) when it needs one; reaps completions.</summary>
    [LibraryImport(Shim, EntryPoint = "cp_xsk_tx_flush")]
    public static partial int Flush(nint xsk);

    [LibraryImport(Shim, EntryPoint = "cp_xsk_wait")]
    public static partial int Wait(nint xsk, long timeoutNs);

    [LibraryImport(Shim, EntryPoint = "cp_xsk_wake")]
    public static partial void Wake(nint xsk);

    [LibraryImport(Shim, EntryPoint = "cp_xsk_close")]
    public static partial void Close(nint xsk);

    /// <summary>Opens the socket, or throws <see cref="PacketSocketException"/> with the shim's sentence.</summary>
    public static nint OpenOrThrow(string ifname, uint queue, int mode, int attach, uint frames, uint frameSize, uint ringSize)
    {
        var err = stackalloc byte[512];
        err[0] = 0;
        int rc;
        nint xsk;
        try
        {
            rc = Open(ifname, queue, mode, attach, frames, frameSize, ringSize, out xsk, err, 512);
        }
        catch (DllNotFoundException e)
        {
            throw new PacketSocketException(Errno.ENOENT,
                $"the AF_XDP shim libcatpowder_xdp.so was not built or not found (apt-get install -y libxdp-dev libbpf-dev, then rebuild): {e.Message}");
        }
        if (rc != 0) throw new PacketSocketException(-rc, Marshal.PtrToStringUTF8((nint)err) ?? $"AF_XDP setup failed ({rc})");
        return xsk;
    }

    private static class Errno
    {
        public const int ENOENT = 2;
    }
}
