using StackExchange.Redis;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// What applications use most, through StackExchange.Redis's typed API and default options: hashes, lists, sets,
/// sorted sets, and transactions with conditions. Runs on 2.x (RESP2) and 3.x (RESP3).
/// </summary>
public abstract partial class StackExchangeRedisTests
{
    [Fact]
    public void Hashes()
    {
        var db = Connect().GetDatabase();
        string key = UniqueKey("hash");
        db.HashSet(key, [new("name", "ada"), new("visits", 1), new("lang", "c#")]);
        Assert.Equal("ada", (string?)db.HashGet(key, "name"));
        Assert.Equal(3, db.HashLength(key));
        Assert.Equal(11, db.HashIncrement(key, "visits", 10));
        Assert.Equal(2.5, db.HashIncrement(key, "score", 2.5));
        Assert.True(db.HashExists(key, "lang"));
        Assert.True(db.HashDelete(key, "lang"));
        Assert.False(db.HashSet(key, "name", "bob", When.NotExists));
        var all = db.HashGetAll(key).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        Assert.Equal(new Dictionary<string, string> { ["name"] = "ada", ["visits"] = "11", ["score"] = "2.5" }, all);
        Assert.Equal(["name", "score", "visits"], db.HashKeys(key).Select(k => (string)k!).Order());
        Assert.Equal(3, db.HashScan(key, "*", pageSize: 1).Count());
        db.KeyDelete(key);
    }

    [Fact]
    public void Lists()
    {
        var db = Connect().GetDatabase();
        string key = UniqueKey("list");
        Assert.Equal(3, db.ListRightPush(key, ["a", "b", "c"]));
        Assert.Equal(4, db.ListLeftPush(key, "z"));
        Assert.Equal(["z", "a", "b", "c"], db.ListRange(key).Select(v => (string)v!));
        Assert.Equal("b", (string?)db.ListGetByIndex(key, 2));
        db.ListSetByIndex(key, 0, "y");
        Assert.Equal("y", (string?)db.ListLeftPop(key));
        Assert.Equal("c", (string?)db.ListRightPop(key));
        Assert.Equal(2, db.ListLength(key));
        db.ListTrim(key, 0, 0);
        Assert.Equal(["a"], db.ListRange(key).Select(v => (string)v!));
        Assert.Equal("a", (string?)db.ListMove(key, key + ":dst", ListSide.Left, ListSide.Right));
        Assert.False(db.KeyExists(key)); // emptied lists disappear
        db.KeyDelete(key + ":dst");
    }

    [Fact]
    public void Sets()
    {
        var db = Connect().GetDatabase();
        string a = UniqueKey("set"), b = UniqueKey("set");
        Assert.Equal(3, db.SetAdd(a, ["x", "y", "z"]));
        Assert.Equal(2, db.SetAdd(b, ["y", "w"]));
        Assert.True(db.SetContains(a, "x"));
        Assert.Equal(3, db.SetLength(a));
        Assert.Equal(["y"], db.SetCombine(SetOperation.Intersect, a, b).Select(v => (string)v!));
        Assert.Equal(["w", "x", "y", "z"], db.SetCombine(SetOperation.Union, a, b).Select(v => (string)v!).Order());
        Assert.Equal(["x", "z"], db.SetCombine(SetOperation.Difference, a, b).Select(v => (string)v!).Order());
        Assert.True(db.SetRemove(a, "x"));
        Assert.True(db.SetMove(a, b, "z"));
        Assert.Equal(["w", "y", "z"], db.SetMembers(b).Select(v => (string)v!).Order());
        Assert.NotNull((string?)db.SetPop(b));
        db.KeyDelete([a, b]);
    }

    [Fact]
    public void SortedSets()
    {
        var db = Connect().GetDatabase();
        string key = UniqueKey("zset");
        db.SortedSetAdd(key, [new("alice", 30), new("bob", 10), new("carol", 20)]);
        Assert.Equal(["bob", "carol", "alice"], db.SortedSetRangeByRank(key).Select(v => (string)v!));
        Assert.Equal(["alice", "carol"], db.SortedSetRangeByScore(key, 15, 100, order: Order.Descending).Select(v => (string)v!));
        Assert.Equal(2, db.SortedSetRank(key, "alice"));
        Assert.Equal(35, db.SortedSetIncrement(key, "bob", 25));
        Assert.Equal(35, db.SortedSetScore(key, "bob"));
        string lex = UniqueKey("lex"); // lexicographic ranges need equal scores
        db.SortedSetAdd(lex, [new("apple", 0), new("banana", 0), new("cherry", 0)]);
        Assert.Equal(2, db.SortedSetLengthByValue(lex, "a", "c"));
        Assert.Equal(["banana", "cherry"], db.SortedSetRangeByValue(lex, "b", "d").Select(v => (string)v!));
        db.KeyDelete(lex);
        var top = db.SortedSetRangeByRankWithScores(key, 0, 0, Order.Descending).Single();
        Assert.Equal(("bob", 35.0), ((string)top.Element!, top.Score));
        var popped = db.SortedSetPop(key);
        Assert.Equal("carol", (string?)popped!.Value.Element);
        Assert.Equal(2, db.SortedSetLength(key));
        db.KeyDelete(key);
    }

    [Fact]
    public void TransactionWithConditions()
    {
        var db = Connect().GetDatabase();
        string account = UniqueKey("acct"), audit = UniqueKey("audit");
        db.HashSet(account, "balance", 100);

        var tran = db.CreateTransaction();
        tran.AddCondition(Condition.HashEqual(account, "balance", 100));
        _ = tran.HashIncrementAsync(account, "balance", -30);
        _ = tran.ListRightPushAsync(audit, "debit 30");
        Assert.True(tran.Execute());
        Assert.Equal(70, (long)db.HashGet(account, "balance"));

        // The condition no longer holds: nothing runs.
        var stale = db.CreateTransaction();
        stale.AddCondition(Condition.HashEqual(account, "balance", 100));
        _ = stale.HashIncrementAsync(account, "balance", -30);
        Assert.False(stale.Execute());
        Assert.Equal(70, (long)db.HashGet(account, "balance"));

        var absent = db.CreateTransaction();
        absent.AddCondition(Condition.KeyNotExists(audit)); // the audit list exists: the debit must not run
        _ = absent.HashIncrementAsync(account, "balance", -70);
        Assert.False(absent.Execute());
        Assert.Equal(70, (long)db.HashGet(account, "balance"));
        Assert.Equal(1, db.ListLength(audit));
        db.KeyDelete([account, audit]);
    }
}
