namespace Demikernel.Conformance.Tests;

/// <summary>
/// The conformance matrix: its rows (targets), its columns (checks), and the cells that cannot run here with the
/// reason. Every other cell is a test (<see cref="MatrixTests.Cell"/>); README.md shows the same table
/// (<see cref="MatrixTests.TheReadmeShowsThisMatrix"/> keeps the two equal).
/// </summary>
internal static class Matrix
{
    public const string QueueApi = "queue-api", Echo = "echo-100MB", RedisTools = "redis-cli+benchmark", LoadGen = "loadgen", LinuxTcp = "linux-tcp";

    public static readonly string[] Checks = [QueueApi, Echo, RedisTools, LoadGen, LinuxTcp];

    public static readonly string[] Targets =
        ["catnap", "catloop", "catmem", "catpowder", "catpowder-af_xdp", "catnip-memif", "catnip-af_packet", "catnip-af_xdp", "catnip-tap", "rdma"];

    private const string InProcess = "catloop's streams exist inside one libOS instance in one process: no other program, and so no Linux tool or socket, can reach them";
    private const string SharedMemory = "catmem's queues are shared memory that only our libOS maps: Linux's TCP has no socket that opens them (redis-cli and redis-benchmark reach the same server over TCP beside its catmem listener)";
    private const string Memif = "memif is shared memory between two DPDK processes, with no kernel interface: Linux's tools and TCP cannot reach it";
    private const string Rdma = "a reserved name, not built: this kernel has no InfiniBand/RDMA support and there is no RDMA device";

    /// <summary>Cells that cannot run for a structural reason: not tests, and not passes.</summary>
    public static readonly Dictionary<(string Target, string Check), string> NotApplicable = new()
    {
        [("catloop", RedisTools)] = InProcess,
        [("catloop", LinuxTcp)] = InProcess,
        [("catmem", LinuxTcp)] = SharedMemory,
        [("catnip-memif", RedisTools)] = Memif,
        [("catnip-memif", LinuxTcp)] = Memif,
        [("rdma", QueueApi)] = Rdma,
        [("rdma", Echo)] = Rdma,
        [("rdma", RedisTools)] = Rdma,
        [("rdma", LoadGen)] = Rdma,
        [("rdma", LinuxTcp)] = Rdma,
    };

    /// <summary>Every cell that runs, in table order.</summary>
    public static IEnumerable<(string Target, string Check)> Runnable() =>
        from t in Targets from c in Checks where !NotApplicable.ContainsKey((t, c)) select (t, c);

    /// <summary>
    /// The site a cell's target runs on (catloop has none: it runs inside the test process). On a veth, the load
    /// generator's cell puts our stack on both ends, so that client and server both bypass the kernel.
    /// </summary>
    public static Site Open(string target, string check) => target switch
    {
        "catnap" => new CatnapSite(),
        "catmem" => new CatmemSite(),
        "catpowder" => new CatpowderSite(bothEndsOurs: check == LoadGen),
        "catpowder-af_xdp" => new CatpowderSite(bothEndsOurs: check == LoadGen, mode: "af_xdp"),
        "catnip-memif" => new CatnipMemifSite(),
        "catnip-af_packet" => new CatnipVethSite("net_af_packet", bothEndsOurs: check == LoadGen),
        "catnip-af_xdp" => new CatnipVethSite("net_af_xdp", bothEndsOurs: check == LoadGen),
        "catnip-tap" => new CatnipTapSite(),
        _ => throw new ArgumentException($"no site for {target}"),
    };
}
