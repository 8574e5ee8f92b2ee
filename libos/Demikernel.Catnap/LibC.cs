using System.Runtime.InteropServices;

namespace Demikernel.Catnap;

/// <summary>The Linux system calls catnap uses. All interop of this backend is fenced in this file.</summary>
internal static unsafe partial class LibC
{
    private const string Lib = "libc";

    public const int AF_UNIX = 1;
    public const int AF_INET = 2;
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
    [LibraryImport(Lib, SetLastError = true)] public static partial int bind(int fd, SockAddrIn* addr, int len);
    [LibraryImport(Lib, EntryPoint = "bind", SetLastError = true)] public static partial int bind_unix(int fd, SockAddrUn* addr, int len);
    [LibraryImport(Lib, SetLastError = true)] public static partial int listen(int fd, int backlog);
    [LibraryImport(Lib, SetLastError = true)] public static partial int accept4(int fd, SockAddrIn* addr, int* len, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int connect(int fd, SockAddrIn* addr, int len);
    [LibraryImport(Lib, SetLastError = true)] public static partial int close(int fd);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint recv(int fd, byte* buf, nuint len, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint recvfrom(int fd, byte* buf, nuint len, int flags, SockAddrIn* addr, int* addrLen);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint sendto(int fd, byte* buf, nuint len, int flags, SockAddrIn* addr, int addrLen);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint writev(int fd, IoVec* iov, int count);
    [LibraryImport(Lib, SetLastError = true)] public static partial int setsockopt(int fd, int level, int name, void* value, int len);
    [LibraryImport(Lib, SetLastError = true)] public static partial int getsockopt(int fd, int level, int name, void* value, int* len);
    [LibraryImport(Lib, SetLastError = true)] public static partial int getsockname(int fd, SockAddrIn* addr, int* len);
    [LibraryImport(Lib, SetLastError = true)] public static partial int getpeername(int fd, SockAddrIn* addr, int* len);
    [LibraryImport(Lib, SetLastError = true)] public static partial int epoll_create1(int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);
    [LibraryImport(Lib, SetLastError = true)] public static partial int epoll_wait(int epfd, EpollEvent* events, int max, int timeoutMs);
    [LibraryImport(Lib, SetLastError = true)] public static partial int eventfd(uint initval, int flags);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint read(int fd, void* buf, nuint count);
    [LibraryImport(Lib, SetLastError = true)] public static partial nint write(int fd, void* buf, nuint count);

    public static int LastErrno => Marshal.GetLastPInvokeError();

    public static SockAddrIn ToSockAddr(Runtime.IPv4Endpoint endpoint) => new()
    {
        Family = AF_INET,
        PortBE = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(endpoint.Port),
        AddressBE = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(endpoint.Address),
    };

    public static Runtime.IPv4Endpoint FromSockAddr(in SockAddrIn addr) => new(
        System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(addr.AddressBE),
        System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(addr.PortBE));
}
