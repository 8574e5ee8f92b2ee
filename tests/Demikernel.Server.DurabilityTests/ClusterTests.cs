namespace Demikernel.Server.DurabilityTests;

/// <summary>Redis Cluster mode is not finished (server/Demikernel.Server/Cluster/README.md): a node must not start as
/// a cluster node it cannot be.</summary>
public sealed class ClusterTests
{
    [Fact]
    public void ClusterEnabledIsRefusedAtStartWithAClearMessage()
    {
        using var dir = new TempDir("cluster-refused");
        File.WriteAllText(dir["redis.conf"], "cluster-enabled yes\ncluster-config-file nodes.conf\n");
        var (exitCode, output) = ServerProcess.RunExpectingRefusal(dir.Path, dir["redis.conf"]);
        Assert.Equal(1, exitCode);
        Assert.Contains("'cluster-enabled yes' is not implemented by this server yet: Redis Cluster mode needs the cluster bus", output, StringComparison.Ordinal);
        Assert.False(File.Exists(dir["nodes.conf"]));
    }
}
