using System.Text;

namespace Demikernel.Server.Tests;

/// <summary>DUMP and RESTORE commands on streams, end to end through the dispatcher.</summary>
public sealed class StreamDumpCommandTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void DumpAndRestoreCarryEntriesAndGroups()
    {
        _h.Run("XADD", "s", "1-1", "name", "ada", "lang", "c#");
        _h.Run("XADD", "s", "2-1", "name", "bob", "lang", "rust");
        _h.Run("XADD", "s", "3-1", "other", "field");
        _h.Run("XGROUP", "CREATE", "s", "g", "0");
        _h.Run("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">");

        byte[] reply = _h.Execute(B("DUMP"), B("s"));
        // $<len>\r\n<payload>\r\n
        int headerEnd = Array.IndexOf(reply, (byte)'\n') + 1;
        byte[] payload = reply[headerEnd..^2];
        Assert.Equal(19, payload[0]); // RDB_TYPE_STREAM_LISTPACKS_2, as redis-server 7.0 writes

        Assert.Equal("+OK\r\n", Encoding.UTF8.GetString(_h.Execute(B("RESTORE"), B("copy"), B("0"), payload)));
        Assert.Equal(_h.Run("XRANGE", "s", "-", "+"), _h.Run("XRANGE", "copy", "-", "+"));
        Assert.Equal(_h.Run("XPENDING", "s", "g"), _h.Run("XPENDING", "copy", "g"));
        Assert.Equal("+stream\r\n", _h.Run("TYPE", "copy"));
        Assert.StartsWith("-BUSYKEY", Encoding.UTF8.GetString(_h.Execute(B("RESTORE"), B("copy"), B("0"), payload)));
    }
}
