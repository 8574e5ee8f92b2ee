using System.Diagnostics;
using System.Text;
using Demikernel.LoadGen;
using Demikernel.Runtime;

namespace Demikernel.Tests;

/// <summary>
/// The server with <c>--catmem-listen</c>: one process, one libOS thread, listening on catnap (kernel TCP, reached by
/// redis-cli) and on catmem (shared memory, reached by this test process on the catmem libOS and by the load generator
/// in a third process) at once, with one dataset.
/// </summary>
public class CatmemListenerTests
{
    [Fact]
    public void TcpAndCatmemClientsSeeTheSameData()
    {
        using var server = CombinedServer.Start();
        using var catmem = new CatmemClients();
        var qd = catmem.Connect(server.CatmemPort);

        Assert.Equal("OK", RedisCli(server.TcpPort, "SET", "from-tcp", "hello"));
        Assert.Equal("$5\r\nhello\r\n", catmem.Call(qd, "GET", "from-tcp"));
        Assert.Equal("+OK\r\n", catmem.Call(qd, "SET", "from-catmem", "world"));
        Assert.Equal("world", RedisCli(server.TcpPort, "GET", "from-catmem"));

        // Our own parameter: CONFIG GET shows it (from either side); CONFIG SET refuses it as an immutable one.
        Assert.Equal($"catmem-listen\n{server.CatmemPort}", RedisCli(server.TcpPort, "CONFIG", "GET", "catmem-listen"));
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'catmem-listen') - can't set immutable config\r\n",
            catmem.Call(qd, "CONFIG", "SET", "catmem-listen", "5"));

        // An ordinary session, listed with its catmem addresses beside the TCP one.
        string list = catmem.Call(qd, "CLIENT", "LIST");
        Assert.Contains($"laddr=catmem:{server.CatmemPort} ", list);
        Assert.Matches(@"addr=catmem:\d+ laddr=catmem:", list);
        Assert.Contains($"laddr=127.0.0.1:{server.TcpPort} ", RedisCli(server.TcpPort, "CLIENT", "LIST"));
        Assert.Contains("libos:catnap", RedisCli(server.TcpPort, "INFO", "server"));
        // MONITOR names a catmem client as CLIENT LIST does.
        var monitor = new System.Diagnostics.Process
        {
            StartInfo = new ProcessStartInfo("redis-cli", ["-p", server.TcpPort.ToString(), "MONITOR"]) { RedirectStandardOutput = true },
        };
        monitor.Start();
        try
        {
            Assert.Equal("OK", monitor.StandardOutput.ReadLine());
            Assert.Equal("$4\r\nseen\r\n", catmem.Call(qd, "PING", "seen"));
            Assert.Matches(@"^\d+\.\d+ \[0 catmem:\d+\] ""PING"" ""seen""$", monitor.StandardOutput.ReadLine());
        }
        finally
        {
            monitor.Kill();
            monitor.WaitForExit();
            monitor.Dispose();
        }
        Assert.Equal("+PONG\r\n", catmem.Call(qd, "PING"));
        server.AssertRunning();
        // SIGTERM is posted to the libOS thread (asleep in its ppoll by now): it shuts down cleanly and its catmem
        // listener's name goes with it.
        Thread.Sleep(300);
        server.Terminate();
        Assert.False(File.Exists($"/dev/shm/demikernel-catmem.{server.CatmemPort}"));
    }

    [Fact]
    public void ManyCatmemClientsInSequenceAndAtOnceAndTheLoadGenerator()
    {
        using var server = CombinedServer.Start();
        using var catmem = new CatmemClients();
        for (int i = 0; i < 20; i++)
        {
            var qd = catmem.Connect(server.CatmemPort);
            Assert.Equal($":{i + 1}\r\n", catmem.Call(qd, "INCR", "counter"));
            catmem.Close(qd);
        }
        var open = Enumerable.Range(0, 16).Select(_ => catmem.Connect(server.CatmemPort)).ToList();
        foreach (var qd in open) Assert.StartsWith(":", catmem.Call(qd, "INCR", "counter"));
        Assert.Equal("36", RedisCli(server.TcpPort, "GET", "counter"));
        Assert.Equal("17", Regex(RedisCli(server.TcpPort, "INFO", "clients"), @"connected_clients:(\d+)")); // and redis-cli
        foreach (var qd in open) catmem.Close(qd);

        // The load generator in its own process, 4 catmem connections, pipelined GETs and SETs.
        var (exit, output) = Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "demi-loadgen.dll"), "--libos", "catmem",
            "--target", $"127.0.0.1:{server.CatmemPort}", "--connections", "4", "--pipeline", "8", "--ratio", "1:1",
            "--keyspace", "1000", "--value-size", "100", "--requests", "20000", "--warmup", "0", "--preload"], TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, output);
        Assert.Matches(@"requests=20000 .* error_replies=0", output);
        Assert.Equal("36", RedisCli(server.TcpPort, "GET", "counter"));
        server.AssertRunning();
    }

    [Fact]
    public void ACatmemClientThatDisconnectsOrCrashesLeavesTheServerFine()
    {
        using var server = CombinedServer.Start();
        using (var catmem = new CatmemClients())
        {
            var qd = catmem.Connect(server.CatmemPort);
            Assert.Equal("+OK\r\n", catmem.Call(qd, "SET", "k", "v"));
            // Half a command, then the connection closes under it.
            catmem.Send(qd, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$");
            catmem.Close(qd);
        }
        // A load generator killed in the middle of its run: its rings and doorbell die with it.
        var loadgen = Process.Start(new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "demi-loadgen.dll"),
            "--libos", "catmem", "--target", $"127.0.0.1:{server.CatmemPort}", "--connections", "2", "--pipeline", "4",
            "--ratio", "1:1", "--keyspace", "100", "--value-size", "16", "--duration", "60", "--warmup", "0"])
        { RedirectStandardOutput = true, RedirectStandardError = true })!;
        try
        {
            // Killed once its connections are served.
            Assert.True(SpinWait.SpinUntil(() => Regex(RedisCli(server.TcpPort, "INFO", "stats"), @"total_commands_processed:(\d+)") is { Length: > 3 },
                TimeSpan.FromSeconds(30)), "the load generator never reached the server");
            loadgen.Kill();
            loadgen.WaitForExit();
        }
        finally
        {
            CatmemTests.RemoveBellsOf(loadgen.Id);
        }
        // The server finds the dead peer while idle (it looks every 20 ms) and drops its sessions.
        Assert.True(SpinWait.SpinUntil(() => !RedisCli(server.TcpPort, "CLIENT", "LIST").Contains("catmem:", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10)), RedisCli(server.TcpPort, "CLIENT", "LIST"));
        Assert.Equal("v", RedisCli(server.TcpPort, "GET", "k"));
        using var again = new CatmemClients();
        var qd2 = again.Connect(server.CatmemPort);
        Assert.Equal("$1\r\nv\r\n", again.Call(qd2, "GET", "k"));
        server.AssertRunning();
    }

    /// <summary>
    /// No spin budget on either side, so each request finds the server asleep in its one ppoll over catnap's epoll fd
    /// and catmem's FIFO doorbell: the FIFO wakes it in microseconds. If the catmem side could not wake it, each of the
    /// 20 round trips would wait for the 50 ms nap to end (a second in all); TCP still wakes it through epoll.
    /// </summary>
    [Fact]
    public void ASleepingCombinedServerIsWokenByItsCatmemClientsAndItsTcpClients()
    {
        using var server = CombinedServer.Start(environment: new() { ["DEMIKERNEL_SPIN_BUDGET_US"] = "0" });
        var config = new LibOSConfig(_ => null);
        config.Set("demikernel", "spin_budget_us", "0");
        using var catmem = new CatmemClients(config);
        var qd = catmem.Connect(server.CatmemPort);
        Assert.Equal("+PONG\r\n", catmem.Call(qd, "PING"));
        Thread.Sleep(100); // the server is asleep by now
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 20; i++) Assert.Equal("+PONG\r\n", catmem.Call(qd, "PING"));
        clock.Stop();
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(400), $"20 round trips took {clock.Elapsed.TotalMilliseconds:F0} ms");
        Assert.Equal("PONG", RedisCli(server.TcpPort, "PING"));
        server.AssertRunning();
    }

    /// <summary>The facade combines transports under one libOS; a socket goes to the one it names.</summary>
    [Fact]
    public void ACombinedLibOSRoutesSocketsByTransportName()
    {
        using var both = LibOS.Create("catnap", null, null, ["catmem", "CATNAP"]);
        Assert.Equal("catnap", both.Name);
        Assert.Equal(["catnap", "catmem"], both.TransportNames);
        Assert.Equal(Errno.EAFNOSUPPORT, both.Socket("rdma", SocketKind.Stream, out _));
        Assert.Equal(Errno.EPROTONOSUPPORT, both.Socket("catmem", SocketKind.Datagram, out _));
        // A catmem listener and a catnap (kernel) one in the same libOS: each reached by its own kind of client.
        Assert.Equal(0, both.Socket("catmem", SocketKind.Stream, out var memListener));
        Assert.Equal(0, both.Bind(memListener, IPv4Endpoint.Loopback(0)));
        Assert.Equal(0, both.Listen(memListener, 8));
        Assert.Equal(0, both.GetSockName(memListener, out var memAt));
        Assert.True(File.Exists($"/dev/shm/demikernel-catmem.{memAt.Port}"));
        Assert.Equal(0, both.Socket(SocketKind.Stream, out var tcpListener));
        Assert.Equal(0, both.Bind(tcpListener, IPv4Endpoint.Loopback(0)));
        Assert.Equal(0, both.Listen(tcpListener, 8));
        Assert.Equal(0, both.GetSockName(tcpListener, out var tcpAt));
        Assert.Equal(0, both.Accept(memListener, out var memAccept));
        Assert.Equal(0, both.Accept(tcpListener, out var tcpAccept));
        using var tcpClient = new System.Net.Sockets.TcpClient();
        tcpClient.Connect(System.Net.IPAddress.Loopback, tcpAt.Port);
        Assert.Equal(0, both.Wait(tcpAccept, out var tcpAccepted, TimeSpan.FromSeconds(10)));
        Assert.Equal(0, tcpAccepted.Ret);
        var memClient = new Thread(() =>
        {
            using var client = LibOS.Create("catmem");
            client.Socket(SocketKind.Stream, out var qd);
            client.Connect(qd, IPv4Endpoint.Loopback(memAt.Port), out var qt);
            client.Wait(qt, out _, TimeSpan.FromSeconds(10));
        });
        memClient.Start();
        Assert.Equal(0, both.Wait(memAccept, out var memAccepted, TimeSpan.FromSeconds(10)));
        Assert.Equal(0, memAccepted.Ret);
        memClient.Join();
        // Only the transports it runs: a catmem libOS has no catnap.
        using var memOnly = LibOS.Create("catmem");
        Assert.Equal(["catmem"], memOnly.TransportNames);
        Assert.Equal(Errno.EAFNOSUPPORT, memOnly.Socket("catnap", SocketKind.Stream, out _));
        Assert.Throws<ConfigException>(() => LibOS.Create("catnap", null, null, ["nope"]));
    }

    [Fact]
    public void ABadOrTakenCatmemNameStopsTheStartWithAClearError()
    {
        foreach (string bad in new[] { "name", "0", "70000", "-1" })
        {
            var (exit, output) = CombinedServer.RunToExit(["--port", "0", "--catmem-listen", bad]);
            Assert.True(exit == 2, output);
            Assert.Contains($"error: --catmem-listen '{bad}': argument must be a catmem name: a port number from 1 to 65535", output);
        }
        // A name a live process listens on already.
        using var holder = LibOS.Create("catmem");
        Assert.Equal(0, holder.Socket(SocketKind.Stream, out var listener));
        Assert.Equal(0, holder.Bind(listener, IPv4Endpoint.Loopback(0)));
        Assert.Equal(0, holder.Listen(listener, 8));
        Assert.Equal(0, holder.GetSockName(listener, out var taken));
        var (code, text) = CombinedServer.RunToExit(["--port", "0", "--catmem-listen", taken.Port.ToString()]);
        Assert.True(code == 1, text);
        Assert.Contains($"Failed listening on catmem name {taken.Port}: EADDRINUSE", text);
    }

    private static string Regex(string text, string pattern) =>
        System.Text.RegularExpressions.Regex.Match(text, pattern) is { Success: true } m ? m.Groups[1].Value : "";

    private static string RedisCli(int port, params string[] args)
    {
        var (exit, output) = Run("redis-cli", ["-p", port.ToString(), .. args], TimeSpan.FromSeconds(30));
        Assert.True(exit == 0, output);
        return output.TrimEnd('\n');
    }

    private static (int Exit, string Output) Run(string file, string[] args, TimeSpan timeout)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stderr = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish: {output}");
        }
        return (p.ExitCode, output + stderr.Result);
    }

    /// <summary>Our server in its own process on catnap, with a catmem listener beside its TCP one.</summary>
    private sealed class CombinedServer : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly string _dir;

        private CombinedServer(Process process, string dir, int tcpPort, int catmemPort)
        {
            _process = process;
            _dir = dir;
            TcpPort = tcpPort;
            CatmemPort = catmemPort;
        }

        public int TcpPort { get; }
        public int CatmemPort { get; }

        public static CombinedServer Start(Dictionary<string, string>? environment = null)
        {
            int tcp = FreeTcpPort();
            int name = Random.Shared.Next(20000, 40000);
            string dir = Directory.CreateTempSubdirectory("catmem-listen").FullName;
            var psi = Psi(["--port", tcp.ToString(), "--catmem-listen", name.ToString(), "--save", ""], dir);
            foreach (var (k, v) in environment ?? []) psi.Environment[k] = v;
            var server = new CombinedServer(Process.Start(psi)!, dir, tcp, name);
            using var ready = new ManualResetEventSlim();
            server._process.OutputDataReceived += (_, e) =>
            {
                lock (server._output) server._output.AppendLine(e.Data);
                if (e.Data?.Contains("Ready to accept connections", StringComparison.Ordinal) == true) ready.Set();
            };
            server._process.ErrorDataReceived += (_, e) => { lock (server._output) server._output.AppendLine(e.Data); };
            server._process.BeginOutputReadLine();
            server._process.BeginErrorReadLine();
            if (!ready.Wait(TimeSpan.FromSeconds(30)))
            {
                server.Dispose();
                Assert.Fail($"server did not start: {server.Output}");
            }
            Assert.Contains($"Listening on catmem name {name}", server.Output);
            return server;
        }

        public static (int Exit, string Output) RunToExit(string[] args)
        {
            string dir = Directory.CreateTempSubdirectory("catmem-listen").FullName;
            try
            {
                using var p = Process.Start(Psi(args, dir))!;
                var stderr = p.StandardError.ReadToEndAsync();
                string output = p.StandardOutput.ReadToEnd();
                if (!p.WaitForExit(TimeSpan.FromSeconds(30)))
                {
                    p.Kill();
                    throw new TimeoutException(output);
                }
                return (p.ExitCode, output + stderr.Result);
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        private static ProcessStartInfo Psi(string[] args, string dir) =>
            new("dotnet", [Path.Combine(AppContext.BaseDirectory, "Demikernel.Server.dll"), .. args])
            {
                WorkingDirectory = dir,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };

        private static int FreeTcpPort()
        {
            using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            return ((System.Net.IPEndPoint)probe.LocalEndPoint!).Port;
        }

        public string Output
        {
            get
            {
                lock (_output) return _output.ToString();
            }
        }

        public void Terminate()
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()])) kill.WaitForExit();
            Assert.True(_process.WaitForExit(TimeSpan.FromSeconds(10)), $"no exit after SIGTERM: {Output}");
            _process.WaitForExit();
            Assert.True(_process.ExitCode == 0, Output);
        }

        public void AssertRunning() => Assert.False(_process.HasExited, $"the server exited: {Output}");

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit();
            }
            CatmemTests.RemoveBellsOf(_process.Id);
            File.Delete($"/dev/shm/demikernel-catmem.{CatmemPort}"); // a killed server leaves its listener's name behind
            _process.Dispose();
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>RESP clients in this process on the catmem libOS: one libOS, any number of connections.</summary>
    private sealed class CatmemClients(LibOSConfig? config = null) : IDisposable
    {
        private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
        private readonly DemiLibOS _libos = LibOS.Create("catmem", config);

        public QDesc Connect(int port)
        {
            Assert.Equal(0, _libos.Socket(SocketKind.Stream, out var qd));
            Assert.Equal(0, _libos.Connect(qd, IPv4Endpoint.Loopback((ushort)port), out var qt));
            Assert.Equal(0, _libos.Wait(qt, out var r, Timeout));
            Assert.True(r.Ret == 0, $"connect: {Errno.Name(r.Ret)}");
            return qd;
        }

        public void Send(QDesc qd, string raw)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(raw);
            var sga = _libos.SgaAlloc(bytes.Length);
            bytes.CopyTo(sga.Span);
            Assert.Equal(0, _libos.Push(qd, sga, out var qt));
            _libos.SgaFree(sga);
            Assert.Equal(0, _libos.Wait(qt, out var r, Timeout));
            Assert.Equal(0, r.Ret);
        }

        /// <summary>Sends one command and returns its whole reply as the bytes came.</summary>
        public string Call(QDesc qd, params string[] args)
        {
            var request = new StringBuilder($"*{args.Length}\r\n");
            foreach (string a in args) request.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
            Send(qd, request.ToString());
            var scanner = new ReplyScanner();
            var reply = new List<byte>();
            while (true)
            {
                Assert.Equal(0, _libos.Pop(qd, out var qt));
                Assert.Equal(0, _libos.Wait(qt, out var r, Timeout));
                Assert.True(r.Ret == 0 && !r.Sga.IsEmpty, $"pop: {Errno.Name(r.Ret)} after '{Encoding.UTF8.GetString([.. reply])}'");
                var data = r.Sga.ToArray();
                _libos.SgaFree(r.Sga);
                reply.AddRange(data);
                scanner.Append(data);
                if (scanner.TryTake()) return Encoding.UTF8.GetString([.. reply]);
            }
        }

        public void Close(QDesc qd) => Assert.Equal(0, _libos.Close(qd));

        public void Dispose() => _libos.Dispose();
    }
}
