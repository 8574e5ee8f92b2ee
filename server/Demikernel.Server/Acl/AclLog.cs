namespace Demikernel.Server.Acl;

/// <summary>Where a denial happened (redis's ACL_LOG_CTX_*).</summary>
internal enum AclLogContext { TopLevel, Multi, Lua }

/// <summary>One ACL LOG entry (redis 7.0.15's ACLLogEntry: similar events within 60 s are counted on one entry).</summary>
internal sealed class AclLogEntry
{
    public long Count = 1;
    public AclResult Reason;
    public AclLogContext Context;
    public string Object = "";
    public string Username = "";
    public long CreatedMs;
    public string ClientInfo = "";
}

/// <summary>The security log behind ACL LOG: newest first, at most acllog-max-len entries.</summary>
internal sealed class AclLog
{
    private const long GroupingMs = 60000;
    private readonly LinkedList<AclLogEntry> _entries = new();

    public int Count => _entries.Count;
    public IEnumerable<AclLogEntry> Entries => _entries;

    public void Reset() => _entries.Clear();

    /// <summary>addACLLogEntry: an entry like one of the last ten (reason, context, object, user, within 60 s) is
    /// moved to the front with its count bumped and the new client info; otherwise a new entry, trimmed to
    /// <paramref name="maxLen"/>.</summary>
    public void Add(AclResult reason, AclLogContext context, string obj, string username, string clientInfo, long nowMs, long maxLen)
    {
        int scanned = 0;
        for (var node = _entries.First; node is not null && scanned < 10; node = node.Next, scanned++)
        {
            var e = node.Value;
            if (e.Reason != reason || e.Context != context || Math.Abs(e.CreatedMs - nowMs) > GroupingMs
                || e.Object != obj || e.Username != username) continue;
            _entries.Remove(node);
            _entries.AddFirst(node);
            e.ClientInfo = clientInfo;
            e.CreatedMs = nowMs;
            e.Count++;
            return;
        }
        _entries.AddFirst(new AclLogEntry
        {
            Reason = reason, Context = context, Object = obj, Username = username, CreatedMs = nowMs, ClientInfo = clientInfo,
        });
        while (_entries.Count > maxLen) _entries.RemoveLast();
    }
}
