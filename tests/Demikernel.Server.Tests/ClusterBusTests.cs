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

    /// <summary>redis-server as a cluster node; its bus port is chosen free (port + 10000 may be past 65535).</summary>
    private ReferenceRedis StartClusterNode(out int busPort)
    {
        busPort = FreePorts.Next();
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

    /// <summary>A file redis-server holds an exclusive flock on (nodes.conf, clusterLockConfig): .NET's own
    /// advisory lock on open would fail, so cat reads it.</summary>
    private static string ReadLocked(string path)
    {
        var info = new System.Diagnostics.ProcessStartInfo("/bin/cat") { RedirectStandardOutput = true, ArgumentList = { path } };
        using var cat = System.Diagnostics.Process.Start(info)!;
        string text = cat.StandardOutput.ReadToEnd();
        Assert.True(cat.WaitForExit(10_000));
        return text;
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

            // Its nodes.conf, read by NodesConfig and written back byte for byte.
            string file = Path.Combine(_dir, "nodes.conf");
            deadline = DateTime.UtcNow.AddSeconds(15);
            string text;
            while (!(text = ReadLocked(file)).Contains(ourId + " ", StringComparison.Ordinal) || !text.Contains(" 0-99", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, $"redis-server did not save our node:\n{text}");
                Thread.Sleep(50);
            }
            var config = NodesConfig.Parse(text, out string? error);
            Assert.True(config is not null, error);
            Assert.Equal(text, config.Format());
            Assert.Equal(redisId, config.Myself.Name);
            var node = config.Nodes.Single(n => n.Name == ourId);
            Assert.Equal(("127.0.0.1", (int)OurPort, (int)ourBusPort, "ours.example"), (node.Ip, node.Port, node.ClusterPort, node.Hostname));
            Assert.Equal(ClusterNodeFlags.Master, node.Flags);
            Assert.Equal([(0, 99)], node.Slots);
            Assert.Equal(1UL, node.ConfigEpoch);
            Assert.True(config.CurrentEpoch >= 1);
        }
        finally
        {
            ourBus.Stop();
        }
    }

    [Fact]
    public void NodesConfigReadsAndWritesWhatRedisWrites()
    {
        string a = new('a', 40), b = new('b', 40), c = new('c', 40);
        string text =
            $"{a} 10.0.0.1:7000@17000,host-a myself,master - 0 0 3 connected 0-5460 5462 [5461-<-{b}] [6000->-{c}]\n" +
            $"{b} 10.0.0.2:7001@17001 slave,fail? {a} 1700000000000 1700000000500 3 disconnected\n" +
            $"{c} :0@0 master,noaddr,nofailover - 0 0 0 disconnected 5461 6000-16383\n" +
            "vars currentEpoch 7 lastVoteEpoch 5\n";
        var config = NodesConfig.Parse(text, out string? error);
        Assert.True(config is not null, error);
        Assert.Equal(text, config.Format());
        Assert.Equal((7UL, 5UL), (config.CurrentEpoch, config.LastVoteEpoch));
        Assert.Equal([(5461, false, b), (6000, true, c)], config.Myself.Moving);
        Assert.Equal(a, config.Nodes[1].Master);

        // an old file without @cport: port + 10000; blank lines skipped; noflags
        var old = NodesConfig.Parse($"\n{a} 127.0.0.1:7000 myself,master - 0 0 0 connected\n\n{b} 127.0.0.1:7001 noflags - 0 0 0 connected\n", out _)!;
        Assert.Equal(17000, old.Myself.ClusterPort);
        Assert.Equal(ClusterNodeFlags.None, old.Nodes[1].Flags);
        Assert.EndsWith("noflags - 0 0 0 connected", NodesConfig.FormatNode(old.Nodes[1]), StringComparison.Ordinal);

        foreach (var bad in new[]
                 {
                     $"{a} 127.0.0.1:7000 myself,master - 0 0 0\n",                      // 7 fields
                     $"{a[..39]} 127.0.0.1:7000 myself,master - 0 0 0 connected\n",      // short name
                     $"{a} 127.0.0.1 myself,master - 0 0 0 connected\n",                 // no port
                     $"{a} 127.0.0.1:7000 myself,boss - 0 0 0 connected\n",              // unknown flag
                     $"{a} 127.0.0.1:7000 myself,master - 0 0 0 connected 0-16384\n",    // slot out of range
                     $"{a} 127.0.0.1:7000 master - 0 0 0 connected\n",                   // nobody is myself
                     $"{a} 127.0.0.1:7000 myself,master - 0 0 0 connected\nvars currentEpoch\n",
                 })
        {
            Assert.Null(NodesConfig.Parse(bad, out string? why));
            Assert.StartsWith("Unrecoverable error: corrupted cluster config file", why, StringComparison.Ordinal);
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
