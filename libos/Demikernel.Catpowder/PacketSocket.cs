using System.Runtime.InteropServices;

namespace Demikernel.Catpowder;

/// <summary>
/// The virtio-net header the kernel puts in front of every frame on a packet socket with <c>PACKET_VNET_HDR</c>
/// (native byte order). It says whether the frame's transport checksum is still to be computed (the kernel's
/// CHECKSUM_PARTIAL: frames sent by the local stack over veth) and whether the frame is a GSO/GRO super-frame.
/// </summary>
internal readonly record struct VnetHeader(byte Flags, byte GsoType, ushort HeaderLength, ushort GsoSize, ushort ChecksumStart, ushort ChecksumOffset)
{
    public const int Size = 10;
    public const byte FlagNeedsChecksum = 1;
    public const byte FlagDataValid = 2;
    public const byte GsoNone = 0;
    public const byte GsoTcpV4 = 1;
    public const byte GsoUdp = 3;
    public const byte GsoTcpV6 = 4;
    public const byte GsoUdpL4 = 5;
    public const byte GsoEcn = 0x80;

    public bool NeedsChecksum => (Flags & FlagNeedsChecksum) != 0;
    public byte Gso => (byte)(GsoType & ~GsoEcn);
}

/// <summary>What the kernel says about an interface (addresses in host order).</summary>
internal readonly record struct InterfaceInfo(int Index, ulong HardwareAddress, int Mtu, bool Up, uint KernelIpv4Address);

/// <summary>An AF_PACKET call that failed: the errno and what was being done.</summary>
internal sealed class PacketSocketException(int errno, string message) : IOException(message)
{
    public int Errno { get; } = errno;
}

/// <summary>
/// A Linux AF_PACKET raw socket bound to one interface: every system call catpowder makes, and all its unsafe code,
/// live in this file.
/// <code>
///   socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, 0)          no frames until bound
///   setsockopt PACKET_VNET_HDR, PACKET_IGNORE_OUTGOING, SO_RCVBUF(FORCE), SO_SNDBUF(FORCE)
///   ioctl SIOCGIFINDEX / SIOCGIFHWADDR / SIOCGIFMTU / SIOCGIFFLAGS   (in the calling thread's network namespace)
///   bind(sockaddr_ll{ETH_P_ALL, ifindex})
///   setsockopt PACKET_VERSION(V2), PACKET_COPY_THRESH, PACKET_LOSS, PACKET_RX_RING, PACKET_TX_RING; mmap  (PacketSocket.Rings.cs)
///   recvmmsg(slot, MSG_DONTWAIT)    only for frames larger than a ring slot: [vnet header | pool buffer | overflow]
///   sendto(NULL, 0, MSG_DONTWAIT)   sends every frame requested on the transmit ring
///   ppoll(POLLIN / POLLOUT, + eventfd) Block(timeout); Wake() writes the eventfd from any thread
/// </code>
/// The receive slots' native descriptors are allocated once; the pool buffers they point at are pinned (pinned object
/// heap), so their addresses stay valid while the device holds them.
/// </summary>
internal sealed unsafe partial class PacketSocket : IDisposable
{
    private const string Lib = "libc";

    private const int AF_PACKET = 17;
    private const int SOCK_RAW = 3;
    private const int SOCK_NONBLOCK = 0x800;
    private const int SOCK_CLOEXEC = 0x80000;
    private const ushort ETH_P_ALL = 0x0003;
    private const int SOL_SOCKET = 1;
    private const int SO_SNDBUF = 7;
    private const int SO_RCVBUF = 8;
    private const int SO_SNDBUFFORCE = 32;
    private const int SO_RCVBUFFORCE = 33;
    private const int SOL_PACKET = 263;
    private const int PACKET_VNET_HDR = 15;
    private const int PACKET_IGNORE_OUTGOING = 23;
    private const int MSG_DONTWAIT = 0x40;
    private const int MSG_TRUNC = 0x20;
    private const byte PACKET_OUTGOING = 4;
    private const ulong SIOCGIFFLAGS = 0x8913;
    private const ulong SIOCGIFADDR = 0x8915;
    private const ulong SIOCGIFMTU = 0x8921;
    private const ulong SIOCGIFHWADDR = 0x8927;
    private const ulong SIOCGIFINDEX = 0x8933;
    private const short IFF_UP = 0x1;
    private const short POLLIN = 0x1;
    private const short POLLOUT = 0x4;
    private const short POLLERR = 0x8;
    private const int SO_ERROR = 4;

    private const int EFD_NONBLOCK = 0x800;
    private const int EFD_CLOEXEC = 0x80000;
    private const int EINTR = 4;
    private const int EAGAIN = 11;

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    /// <summary>struct msghdr (x86-64 / arm64 layout: 56 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    /// <summary>struct sockaddr_ll: 20 bytes.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 20)]
    private struct SockAddrLl
    {
        public ushort Family;
        public ushort ProtocolBE;
        public int IfIndex;
        public ushort HaType;
        public byte PktType;
        public byte HaLength;
        public ulong Address;
    }

    /// <summary>struct ifreq: a 16-byte name and a 24-byte union.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 40)]
    private struct IfReq
    {
        public fixed byte Name[16];
        public fixed byte Data[24];
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport(Lib, SetLastError = true)] private static partial int socket(int domain, int type, int protocol);
    [LibraryImport(Lib, SetLastError = true)] private static partial int bind(int fd, SockAddrLl* addr, int len);
    [LibraryImport(Lib, SetLastError = true)] private static partial int close(int fd);
    [LibraryImport(Lib, SetLastError = true)] private static partial int setsockopt(int fd, int level, int name, void* value, int len);
    [LibraryImport(Lib, SetLastError = true)] private static partial int getsockopt(int fd, int level, int name, void* value, int* len);
    [LibraryImport(Lib, SetLastError = true)] private static partial int ioctl(int fd, ulong request, void* arg);
    [LibraryImport(Lib, SetLastError = true)] private static partial int recvmmsg(int fd, MMsgHdr* msgs, uint count, int flags, TimeSpec* timeout);
    [LibraryImport(Lib, SetLastError = true)] private static partial nint sendmsg(int fd, MsgHdr* msg, int flags);
    [LibraryImport(Lib, SetLastError = true)] private static partial int ppoll(PollFd* fds, nuint count, TimeSpec* timeout, void* sigmask);
    [LibraryImport(Lib, SetLastError = true)] private static partial int eventfd(uint initval, int flags);
    [LibraryImport(Lib, SetLastError = true)] private static partial nint read(int fd, void* buf, nuint count);
    [LibraryImport(Lib, SetLastError = true)] private static partial nint write(int fd, void* buf, nuint count);

    /// <summary>Bytes after the pool buffer that catch the rest of a GSO/GRO super-frame (largest IPv4 packet + Ethernet).</summary>
    public const int OverflowBytes = 65536 + 64;

    private readonly int _slots;
    private readonly MMsgHdr* _msgs;
    private readonly IoVec* _iov;         // 3 per slot
    private readonly SockAddrLl* _names;  // 1 per slot
    private readonly byte* _vnet;         // VnetHeader.Size per slot (rounded to 16)
    private readonly byte* _overflow;     // OverflowBytes per slot
    private int _fd;
    private readonly int _wakeFd;

    private PacketSocket(int fd, int wakeFd, int slots)
    {
        _fd = fd;
        _wakeFd = wakeFd;
        _slots = slots;
        _msgs = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(slots * sizeof(MMsgHdr)));
        _iov = (IoVec*)NativeMemory.AllocZeroed((nuint)(slots * 3 * sizeof(IoVec)));
        _names = (SockAddrLl*)NativeMemory.AllocZeroed((nuint)(slots * sizeof(SockAddrLl)));
        _vnet = (byte*)NativeMemory.AllocZeroed((nuint)(slots * 16));
        _overflow = (byte*)NativeMemory.Alloc((nuint)slots * OverflowBytes);
        for (int i = 0; i < slots; i++)
        {
            var iov = _iov + (i * 3);
            iov[0] = new IoVec { Base = _vnet + (i * 16), Length = VnetHeader.Size };
            iov[2] = new IoVec { Base = _overflow + ((long)i * OverflowBytes), Length = OverflowBytes };
        }
    }

    public string InterfaceName { get; private init; } = "";
    public int InterfaceIndex { get; private init; }
    public ulong HardwareAddress { get; private init; }
    public int InterfaceMtu { get; private init; }
    public bool InterfaceUp { get; private init; }
    /// <summary>The kernel's own IPv4 address on the interface (host order), 0 if it has none.</summary>
    public uint KernelIpv4Address { get; private init; }

    /// <summary>Receive slots (frames per <see cref="ReceiveBatch"/>).</summary>
    public int Slots => _slots;

    /// <summary>True if the kernel filters out frames sent on the interface by others (PACKET_IGNORE_OUTGOING, Linux 4.20+).</summary>
    public bool IgnoresOutgoing { get; private set; }

    /// <summary>
    /// Opens and binds a packet socket on <paramref name="interfaceName"/> in the calling thread's network namespace.
    /// Throws <see cref="PacketSocketException"/> naming the step that failed.
    /// </summary>
    public static PacketSocket Open(string interfaceName, int slots, int bufferBytes)
    {
        int fd = OpenSocket(interfaceName, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC);
        try
        {
            var info = Query(fd, interfaceName);
            int ifindex = info.Index;

            int one = 1;
            Check(setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(int)), "setsockopt(PACKET_VNET_HDR)");
            bool ignoresOutgoing = setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(int)) == 0;
            int size = bufferBytes;
            if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(int)) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(int));
            if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(int)) != 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(int));

            var addr = new SockAddrLl { Family = AF_PACKET, ProtocolBE = (ushort)((ETH_P_ALL << 8) | (ETH_P_ALL >> 8)), IfIndex = ifindex };
            Check(bind(fd, &addr, sizeof(SockAddrLl)), $"bind to '{interfaceName}'");
            int wakeFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
            Check(wakeFd, "eventfd");
            return new PacketSocket(fd, wakeFd, slots)
            {
                InterfaceName = interfaceName,
                InterfaceIndex = ifindex,
                HardwareAddress = info.HardwareAddress,
                InterfaceMtu = info.Mtu,
                InterfaceUp = info.Up,
                KernelIpv4Address = info.KernelIpv4Address,
                IgnoresOutgoing = ignoresOutgoing,
            };
        }
        catch
        {
            close(fd);
            throw;
        }
    }

    /// <summary>An AF_PACKET socket of <paramref name="type"/> for <paramref name="interfaceName"/> (checked first), or a
    /// PacketSocketException naming what failed.</summary>
    private static int OpenSocket(string interfaceName, int type)
    {
        if (string.IsNullOrEmpty(interfaceName) || System.Text.Encoding.UTF8.GetByteCount(interfaceName) > 15)
            throw new PacketSocketException(22, $"'{interfaceName}' is not a valid interface name (1-15 bytes)");
        int fd = socket(AF_PACKET, type, 0);
        if (fd >= 0) return fd;
        int e = Marshal.GetLastPInvokeError();
        throw new PacketSocketException(e, e is 1 or 13
            ? $"cannot open an AF_PACKET socket: {Name(e)} (needs root or CAP_NET_RAW)"
            : $"cannot open an AF_PACKET socket: {Name(e)}");
    }

    /// <summary>
    /// The interface's index, MAC, MTU, up flag and kernel IPv4 address, asked with ioctls on an unbound packet socket
    /// (which receives nothing), in the calling thread's network namespace. For devices that do not use a packet
    /// socket for their frames (AF_XDP).
    /// </summary>
    public static InterfaceInfo Describe(string interfaceName)
    {
        int fd = OpenSocket(interfaceName, SOCK_RAW | SOCK_CLOEXEC);
        try
        {
            return Query(fd, interfaceName);
        }
        finally
        {
            close(fd);
        }
    }

    private static InterfaceInfo Query(int fd, string interfaceName)
    {
        IfReq req = default;
        var nameBytes = System.Text.Encoding.UTF8.GetBytes(interfaceName);
        for (int i = 0; i < nameBytes.Length; i++) req.Name[i] = nameBytes[i];
        if (ioctl(fd, SIOCGIFINDEX, &req) < 0)
        {
            int e = Marshal.GetLastPInvokeError();
            throw new PacketSocketException(e, e == 19
                ? $"no network interface '{interfaceName}' in this network namespace"
                : $"ioctl(SIOCGIFINDEX, '{interfaceName}') failed: {Name(e)}");
        }
        int ifindex = *(int*)req.Data;
        Check(ioctl(fd, SIOCGIFHWADDR, &req), $"ioctl(SIOCGIFHWADDR, '{interfaceName}')");
        ulong mac = 0;
        for (int i = 0; i < 6; i++) mac = (mac << 8) | req.Data[2 + i]; // struct sockaddr: family, then sa_data
        Check(ioctl(fd, SIOCGIFMTU, &req), $"ioctl(SIOCGIFMTU, '{interfaceName}')");
        int mtu = *(int*)req.Data;
        Check(ioctl(fd, SIOCGIFFLAGS, &req), $"ioctl(SIOCGIFFLAGS, '{interfaceName}')");
        bool up = (*(short*)req.Data & IFF_UP) != 0;
        // The interface's (first) IPv4 address, if the kernel has one there: struct sockaddr_in, address at [4..8].
        uint kernelAddress = 0;
        if (ioctl(fd, SIOCGIFADDR, &req) == 0)
            kernelAddress = ((uint)req.Data[4] << 24) | ((uint)req.Data[5] << 16) | ((uint)req.Data[6] << 8) | req.Data[7];
        return new InterfaceInfo(ifindex, mac, mtu, up, kernelAddress);
    }

    private static void Check(int rc, string what)
    {
        if (rc < 0)
        {
            int e = Marshal.GetLastPInvokeError();
            throw new PacketSocketException(e, $"{what} failed: {Name(e)}");
        }
    }

    /// <summary>Points slot <paramref name="slot"/>'s main receive area at <paramref name="length"/> pinned bytes.</summary>
    public void SetTarget(int slot, nint address, int length)
    {
        var iov = _iov + (slot * 3) + 1;
        iov->Base = (void*)address;
        iov->Length = (nuint)length;
    }

    /// <summary>
    /// Receives up to <paramref name="count"/> frames into slots 0..count-1 without blocking. Returns the number
    /// received (0 when none is waiting), or minus the errno of a device error the socket reports once (ENETDOWN when
    /// the interface goes down, ENXIO/ENODEV when it goes away). Throws only on errors that mean a bug here.
    /// </summary>
    public int ReceiveBatch(int count)
    {
        for (int i = 0; i < count; i++)
        {
            ref var m = ref _msgs[i];
            m.Header.Name = _names + i;
            m.Header.NameLength = (uint)sizeof(SockAddrLl);
            m.Header.Iov = _iov + (i * 3);
            m.Header.IovLength = 3;
            m.Header.Control = null;
            m.Header.ControlLength = 0;
            m.Header.Flags = 0;
            m.Length = 0;
        }
        int n = recvmmsg(_fd, _msgs, (uint)count, MSG_DONTWAIT, null);
        if (n >= 0) return n;
        int e = Marshal.GetLastPInvokeError();
        if (e is EAGAIN or EINTR) return 0;
        if (e is 9 /* EBADF */ or 14 /* EFAULT */ or 22 /* EINVAL */ or 88 /* ENOTSOCK */)
            throw new PacketSocketException(e, $"recvmmsg on '{InterfaceName}' failed: {Name(e)}");
        return -e;
    }

    /// <summary>Frame bytes received in a slot (without the virtio-net header), or -1 if the frame did not fit.</summary>
    public int FrameLength(int slot)
    {
        ref var m = ref _msgs[slot];
        if ((m.Header.Flags & MSG_TRUNC) != 0 || m.Length < VnetHeader.Size) return -1;
        return (int)m.Length - VnetHeader.Size;
    }

    /// <summary>True if the slot holds a frame this host sent (seen only without PACKET_IGNORE_OUTGOING).</summary>
    public bool IsOutgoing(int slot) => _names[slot].PktType == PACKET_OUTGOING;

    public VnetHeader Header(int slot)
    {
        byte* h = _vnet + (slot * 16);
        return new VnetHeader(h[0], h[1], *(ushort*)(h + 2), *(ushort*)(h + 4), *(ushort*)(h + 6), *(ushort*)(h + 8));
    }

    /// <summary>The part of a large frame that did not fit the slot's main area.</summary>
    public ReadOnlySpan<byte> Overflow(int slot, int length) =>
        new(_overflow + ((long)slot * OverflowBytes), Math.Min(length, OverflowBytes));

    /// <summary>
    /// Waits until the socket is readable (or writable), <see cref="Wake"/> is called or the timeout passes; null waits
    /// without limit.
    /// Returns the socket's pending error (read and cleared with SO_ERROR: ENETDOWN when the interface went down), or 0.
    /// </summary>
    public int Wait(TimeSpan? timeout, bool writable = false)
    {
        var pfds = stackalloc PollFd[2];
        pfds[0] = new PollFd { Fd = _fd, Events = writable ? POLLOUT : POLLIN };
        pfds[1] = new PollFd { Fd = _wakeFd, Events = POLLIN };
        int n;
        if (timeout is { } t)
        {
            long ns = Math.Max(0, t.Ticks) * 100;
            var ts = new TimeSpec { Seconds = ns / 1_000_000_000, Nanoseconds = ns % 1_000_000_000 };
            n = ppoll(pfds, 2, &ts, null);
        }
        else
        {
            n = ppoll(pfds, 2, null, null);
        }
        if (n > 0 && (pfds[1].Revents & POLLIN) != 0)
        {
            ulong count;
            read(_wakeFd, &count, sizeof(ulong)); // drain: the wake has done its work by ending this wait
        }
        if (n > 0 && (pfds[0].Revents & POLLERR) != 0)
        {
            // With rings no recv clears the socket's error, and ppoll would keep returning at once: take it here.
            int error = 0;
            int length = sizeof(int);
            getsockopt(_fd, SOL_SOCKET, SO_ERROR, &error, &length);
            return error;
        }
        return 0;
    }

    /// <summary>Ends a <see cref="Wait"/> in progress, or the next one: adds 1 to the eventfd. Thread-safe.</summary>
    public void Wake()
    {
        ulong one = 1;
        write(_wakeFd, &one, sizeof(ulong));
    }

    public static bool IsTransientSendError(int errno) => errno is EAGAIN or Demikernel.Runtime.Errno.ENOBUFS or EINTR;

    /// <summary>An errno's name: the runtime's table plus the device errors it does not list.</summary>
    public static string Name(int errno) => errno switch
    {
        6 => "ENXIO",
        19 => "ENODEV",
        100 => "ENETDOWN",
        _ => Demikernel.Runtime.Errno.Name(errno),
    };

    public void Dispose()
    {
        if (_fd < 0) return;
        UnmapRings();
        close(_fd);
        close(_wakeFd);
        _fd = -1;
        NativeMemory.Free(_msgs);
        NativeMemory.Free(_iov);
        NativeMemory.Free(_names);
        NativeMemory.Free(_vnet);
        NativeMemory.Free(_overflow);
    }
}
