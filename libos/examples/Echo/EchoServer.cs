using Demikernel.Runtime;

namespace Demikernel.Examples.Echo;

/// <summary>Echoes every byte on every connection until the client closes: each popped SGA is pushed back as is (zero copy).</summary>
public sealed class EchoServer(DemiLibOS libos)
{
    public long Connections { get; private set; }
    public long BytesEchoed { get; private set; }

    /// <summary>Opens the listening socket; returns 0 or an errno.</summary>
    public int Listen(IPv4Endpoint at, out QDesc listener)
    {
        int rc = libos.Socket(SocketKind.Stream, out listener);
        if (rc != 0) return rc;
        if ((rc = libos.Bind(listener, at)) != 0 || (rc = libos.Listen(listener, 1024)) != 0)
        {
            libos.Close(listener);
            return rc;
        }
        var qd = listener;
        libos.Spawn(() => AcceptLoop(qd));
        return 0;
    }

    private async ValueTask AcceptLoop(QDesc listener)
    {
        while (true)
        {
            var accepted = await libos.AcceptAsync(listener);
            if (!accepted.Succeeded)
            {
                if (accepted.Ret is Errno.ECANCELED or Errno.EBADF) return; // listener closed
                continue;
            }
            Connections++;
            var qd = accepted.AcceptedQd;
            libos.Spawn(() => Session(qd));
        }
    }

    private async ValueTask Session(QDesc qd)
    {
        libos.SetSockOpt(qd, SocketOption.TcpNoDelay, 1);
        while (true)
        {
            var popped = await libos.PopAsync(qd);
            if (!popped.Succeeded || popped.Sga.IsEmpty) break; // error or end of stream
            var pushed = await libos.PushAsync(qd, popped.Sga);
            BytesEchoed += popped.Sga.TotalLength;
            libos.SgaFree(popped.Sga);
            if (!pushed.Succeeded) break;
        }
        libos.Close(qd);
    }
}
