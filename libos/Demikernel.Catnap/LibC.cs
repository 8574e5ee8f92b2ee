using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Demikernel.Catnap;

/// <summary>The Linux system calls catnap uses. All interop of this backend is fenced in this file.</summary>
internal static unsafe partial class LibC
{
    private const string Lib = "libc";

    public const int AF_UNIX = 1;
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;
    public const int IPPROTO_IPV6 = 41;
    public const int IPV6_V6ONLY = 26;
    public const int SOCK_STREAM = 1;
    public const int SOCK_DGRAM = 2;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1;
    public const int SO_REUSEADDR = 2;
    public const int SO_ERROR = 4;
    public const int SO_KEEPALIVE = 9;
    public const int SO_LINGER = 13;
    public const int SO_REUSEPORT = 15;
    public const int IPPROTO_TCP = 6;
    public const int TCP_NODELAY = 1;
    public const int TCP_KEEPIDLE = 4;
    public const int TCP_KEEPINTVL = 5;
    public const int TCP_KEEPCNT = 6;
    public const int MSG_NOSIGNAL = 0x4000;
    public const int MSG_DONTWAIT = 0x40;

    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const uint EPOLLIN = 0x001;
    public const uint EPOLLOUT = 0x004;
    public const uint EPOLLERR = 0x008;
    public const uint EPOLLHUP = 0x010;
    public const uint EPOLLRDHUP = 0x2000;
    public const uint EPOLLET = 1u << 31;
    public const int EFD_NONBLOCK = 0x800;
    public const int EFD_CLOEXEC = 0x80000;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    /// <summary>struct sockaddr_in: family, port (big-endian), address (big-endian), 8 bytes of zero.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 16)]
    public struct SockAddrIn
    {
        public ushort Family;
        public ushort PortBE;
        public uint AddressBE;
        public ulong Zero;
    }

    /// <summary>struct sockaddr_in6: family, port (big-endian), flow info, 16 address bytes, scope id (28 bytes). Also
    /// the buffer accept, recvfrom, getsockname and getpeername fill, as it holds a sockaddr_in too.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 28)]
    public struct SockAddrIn6
    {
        public ushort Family;
        public ushort PortBE;
        public uint FlowInfo;
        public fixed byte Address[16];
        public uint ScopeId;
    }

    /// <summary>struct sockaddr_un: family, then a NUL-terminated path of at most 107 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddrUn
    {
        public ushort Family;
        public fixed byte Path[108];
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Linger
    {
        public int OnOff;
        public int Seconds;
    }

    [LibraryImport(Lib, SetLastError = true)] public static partial int socket(int domain, int type, int protocol);
    [LibraryImport(Lib, SetLastError = true)] public static partial int bind(int fd, void* addr, int len);
    [LibraryImport(Lib, EntryPoint = "bind", SetLastError = true)] public static partial int bind_unix(int fd, SockAddrUn* addr, int len);
    [LibraryImport(Lib, SetLastError = true)] public static partial int listen(int fd, int backlog);
    [LibraryImport(Lib, SetLastError = true)] public static partial int accept4(int fd, void* addr, int* len, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int connect(int fd, void* addr, int len);
    [LibraryImport(Lib, SetLastError = true)] public static partial int close(int fd);
    /// <summary>recv for the libOS thread's polling: a non-blocking socket's recv returns at once, so it skips the GC
    /// transition (tens of nanoseconds a call, on the round trip's path).</summary>
    [LibraryImport(Lib, EntryPoint = "recv", SetLastError = true)]
    [SuppressGCTransition]
    public static partial nint recv_nonblocking(int fd, byte* buf, nuint len, int flags);
    // Not inlined: the pop path that calls it (datagrams) shares a method with the stream path's recv, and a P/Invoke with
    // a GC transition inlined into a method sets up a P/Invoke frame (a thread-local read) in its prolog on every call.
    [LibraryImport(Lib, SetLastError = true)]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static partial nint recvfrom(int fd, byte* buf, nuint len, int flags, void* addr, int* addrLen);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint sendto(int fd, byte* buf, nuint len, int flags, void* addr, int addrLen);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint writev(int fd, IoVec* iov, int count);
    [LibraryImport(Lib, SetLastError = true)] public static partial int setsockopt(int fd, int level, int name, void* value, int len);
    [LibraryImport(Lib, SetLastError = true)] public static partial int getsockopt(int fd, int level, int name, void* value, int* len);
    [LibraryImport(Lib, SetLastError = true)] public static partial int getsockname(int fd, void* addr, int* len);
    [LibraryImport(Lib, SetLastError = true)] public static partial int getpeername(int fd, void* addr, int* len);
    [LibraryImport(Lib, SetLastError = true)] public static partial int epoll_create1(int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);
    [LibraryImport(Lib, SetLastError = true)] public static partial int epoll_wait(int epfd, EpollEvent* events, int max, int timeoutMs);
    /// <summary>epoll_wait with a zero timeout (never blocks), called every pass of a spinning libOS: no GC transition and
    /// no errno bookkeeping (a failure, EINTR, is read as no events).</summary>
    [LibraryImport(Lib, EntryPoint = "epoll_wait")]
    [SuppressGCTransition]
    public static partial int epoll_wait_nowait(int epfd, EpollEvent* events, int max, int timeoutMs);
    [LibraryImport(Lib, SetLastError = true)] public static partial int eventfd(uint initval, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint read(int fd, void* buf, nuint count);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint write(int fd, void* buf, nuint count);

    public static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>Fills <paramref name="addr"/> with <paramref name="endpoint"/> (sockaddr_in or sockaddr_in6) and returns
    /// its length.</summary>
    public static int ToSockAddr(Runtime.InetEndpoint endpoint, out SockAddrIn6 addr)
    {
        addr = default;
        addr.PortBE = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(endpoint.Port);
        if (!endpoint.IsIPv6)
        {
            addr.Family = AF_INET;
            fixed (SockAddrIn6* a = &addr) endpoint.WriteAddress(new Span<byte>((byte*)a + 4, 4)); // sin_addr follows sin_port
            return sizeof(SockAddrIn);
        }
        addr.Family = AF_INET6;
        addr.ScopeId = endpoint.ScopeId;
        fixed (byte* p = addr.Address) endpoint.WriteAddress(new Span<byte>(p, 16));
        return sizeof(SockAddrIn6);
    }

    /// <summary>The endpoint in a sockaddr_in or sockaddr_in6 the kernel filled (anything else: 0.0.0.0:0).</summary>
    public static Runtime.InetEndpoint FromSockAddr(in SockAddrIn6 addr)
    {
        ushort port = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(addr.PortBE);
        fixed (SockAddrIn6* a = &addr)
        {
            if (addr.Family == AF_INET6) return Runtime.InetEndpoint.IPv6(new ReadOnlySpan<byte>(a->Address, 16), port, addr.ScopeId);
            if (addr.Family != AF_INET) return default;
            return new Runtime.IPv4Endpoint(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>((byte*)a + 4, 4)), port);
        }
    }
}
