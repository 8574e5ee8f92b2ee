using System.Net;
using System.Net.Sockets;

namespace Demikernel.Server.IntegrationTests;

/// <summary>A loopback port free at the moment of asking (the OS picks it), for servers a test starts.</summary>
internal static class FreePorts
{
    public static int Next()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
