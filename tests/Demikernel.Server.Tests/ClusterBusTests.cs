using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Demikernel.Server.Cluster;

namespace Demikernel.Server.Tests;

/// <summary>
/// The Redis Cluster pieces that exist so far (Cluster/README.md), checked against redis-server 7.0.15 running with
/// cluster-enabled yes: the key → slot mapping against its CLUSTER KEYSLOT, and the bus message codec by talking to
/// its cluster bus: our MEET is accepted, its PONG and PING decode, our PONG makes it know our node, our name and
/// the slots we claim.
/// </summary>
public sealed class ClusterBusTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cluster-bus-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>redis-server as a cluster node; its bus port is chosen free (port + 10000 may be past 65535).</summary>
    private ReferenceRedis StartClusterNode(out int busPort)
    {
        busPort = FreePort();
        return ReferenceRedis.TryStart($"--cluster-enabled yes --cluster-port {busPort} --cluster-config-file {_dir}/nodes.conf --dir {_dir} --cluster-node-timeout 5000");
    }

    [Fact]
    public void KeySlotsAreRedisServers()
    {
        using var redis = StartClusterNode(out _);
        var keys = new List<byte[]>();
        foreach (var k in new[]
                 {
                     "", "a", "foo", "bar", "{user1000}.following", "{user1000}.followers", "foo{}{bar}", "foo{{bar}}zap",
                     "foo{bar}{zap}", "{}", "{}x", "x{}", "{a", "a}", "}{a}", "{{}}", "{", "}", "a{b}c{d}", "123456789",
                 })
            keys.Add(Encoding.UTF8.GetBytes(k));
        var random = new Random(15);
        for (int i = 0; i < 300; i++)
        {
            var k = new byte[random.Next(0, 24)];
            random.NextBytes(k);
            if (i % 3 == 0 && k.Length > 4) { k[1] = (byte)'{'; k[random.Next(2, k.Length)] = (byte)'}'; }
            keys.Add(k);
        }
        Assert.Equal(0x31C3, HashSlot.Crc16("123456789"u8)); // CRC16/XMODEM check value
        foreach (var key in keys)
        {
            string reply = ReferenceRedis.Latin1(redis.Execute("CLUSTER"u8.ToArray(), "KEYSLOT"u8.ToArray(), key));
            Assert.Equal($":{HashSlot.Of(key).ToString(CultureInfo.InvariantCulture)}\r\n", reply);
        }
    }

    private static byte[] ReadMessage(NetworkStream s)
    {
        var head = new byte[8];
        s.ReadExactly(head);
        int length = ClusterMessage.FrameLength(head);
        Assert.True(length >= ClusterMessage.HeaderLength, $"not a cluster bus message: {Convert.ToHexString(head)}");
        var m = new byte[length];
        head.CopyTo(m, 0);
        s.ReadExactly(m, 8, length - 8);
        return m;
    }

    private static void Send(NetworkStream s, ClusterMessage m)
    {
        var buffer = new byte[m.Length];
        Assert.Equal(buffer.Length, m.Write(buffer));
        s.Write(buffer);
    }

    [Fact]
    public void RedisServersBusAcceptsOurMessagesAndOursReadsItsOwn()
    {
        using var redis = StartClusterNode(out int busPort);
        string redisId = ReferenceRedis.Latin1(redis.Execute("CLUSTER"u8.ToArray(), "MYID"u8.ToArray()));
        redisId = redisId.Split("\r\n")[1];
        string ourId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20));
        var ourBus = new TcpListener(IPAddress.Loopback, 0);
        ourBus.Start();
        try
        {
            ushort ourBusPort = (ushort)((IPEndPoint)ourBus.LocalEndpoint).Port;
            const ushort OurPort = 7001; // the client port we announce (nobody connects to it here)
            var slots = new byte[ClusterMessage.SlotBytes];
            for (int slot = 0; slot <= 99; slot++) ClusterMessage.SetSlot(slots, slot);
            ClusterMessage Ours(ClusterMessageType type) => new()
            {
                Type = type, Port = OurPort, ClusterPort = ourBusPort, Sender = ourId, Slots = slots, Flags = ClusterNodeFlags.Master,
                CurrentEpoch = 1, ConfigEpoch = 1, Hostname = "ours.example",
            };

            // MEET to redis-server's bus: it answers PONG (and adds a node in handshake for our address).
            using var outbound = new TcpClient();
            outbound.Connect(IPAddress.Loopback, busPort);
            var o = outbound.GetStream();
            o.ReadTimeout = 10_000;
            Send(o, Ours(ClusterMessageType.Meet));
            var pong = ClusterMessage.Read(ReadMessage(o));
            Assert.NotNull(pong);
            Assert.Equal(ClusterMessageType.Pong, pong.Type);
            Assert.Equal(redisId, pong.Sender);
            Assert.Equal(redis.Port, pong.Port);
            Assert.Equal(busPort, pong.ClusterPort);
            Assert.True(pong.Flags.HasFlag(ClusterNodeFlags.Master) && pong.Flags.HasFlag(ClusterNodeFlags.Myself), pong.Flags.ToString());
            Assert.Null(pong.SlaveOf);
            Assert.Equal(0, Enumerable.Range(0, HashSlot.Count).Count(pong.HasSlot));

            // redis-server connects to the bus port we announced and PINGs the node it does not know by name yet.
            ourBus.Server.ReceiveTimeout = 10_000;
            var accept = ourBus.AcceptTcpClientAsync();
            Assert.True(accept.Wait(TimeSpan.FromSeconds(10)), "redis-server did not connect to our bus port");
            using var inbound = accept.Result;
            var i = inbound.GetStream();
            i.ReadTimeout = 10_000;
            var ping = ClusterMessage.Read(ReadMessage(i));
            Assert.NotNull(ping);
            Assert.Equal(ClusterMessageType.Ping, ping.Type);
            Assert.Equal(redisId, ping.Sender);
            // Our PONG names us: redis-server renames its handshake node to our id and takes our slots.
            Send(i, Ours(ClusterMessageType.Pong));

            var deadline = DateTime.UtcNow.AddSeconds(15);
            string nodes;
            while (true)
            {
                nodes = ReferenceRedis.Latin1(redis.Execute("CLUSTER"u8.ToArray(), "NODES"u8.ToArray()));
                if (nodes.Contains(ourId, StringComparison.Ordinal) && nodes.Contains(" 0-99", StringComparison.Ordinal)) break;
                Assert.True(DateTime.UtcNow < deadline, $"redis-server does not know our node:\n{nodes}");
                // keep answering its PINGs
                while (i.DataAvailable)
                    if (ClusterMessage.Read(ReadMessage(i)) is { Type: ClusterMessageType.Ping }) Send(i, Ours(ClusterMessageType.Pong));
                Thread.Sleep(50);
            }
            var line = nodes.Split('\n').Single(l => l.StartsWith(ourId, StringComparison.Ordinal));
            var fields = line.Split(' ');
            // <id> <ip:port@cport,hostname> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot> ...
            Assert.Equal($"127.0.0.1:{OurPort}@{ourBusPort},ours.example", fields[1]);
            Assert.Equal("master", fields[2]);
            Assert.Equal("1", fields[6]);
            Assert.Equal("0-99", fields[8].Trim());
        }
        finally
        {
            ourBus.Stop();
        }
    }

    [Fact]
    public void MalformedMessagesAreDroppedAsRedisDropsThem()
    {
        var slots = new byte[ClusterMessage.SlotBytes];
        var m = new ClusterMessage
        {
            Type = ClusterMessageType.Ping, Port = 1, ClusterPort = 2, Sender = new string('a', 40), Slots = slots,
            Gossip = [new ClusterGossip(new string('b', 40), 1, 2, "10.0.0.1", 3, 4, ClusterNodeFlags.Slave, 0)],
        };
        var bytes = new byte[m.Length];
        m.Write(bytes);
        Assert.Equal(ClusterMessage.HeaderLength + ClusterMessage.GossipLength, bytes.Length);
        var back = ClusterMessage.Read(bytes)!;
        Assert.Equal(m.Gossip, back.Gossip);
        Assert.Equal(-1, ClusterMessage.FrameLength("RCmc\0\0\u0010\0"u8));
        Assert.Equal(0, ClusterMessage.FrameLength("RCmb"u8));
        var wrongVersion = (byte[])bytes.Clone();
        wrongVersion[9] = 2;
        Assert.Null(ClusterMessage.Read(wrongVersion));
        var wrongCount = (byte[])bytes.Clone();
        wrongCount[15] = 2; // two gossip entries claimed, one sent
        Assert.Null(ClusterMessage.Read(wrongCount));
    }
}
