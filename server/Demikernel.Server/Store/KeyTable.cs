using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Demikernel.Server.Store;

/// <summary>
/// One key's metadata, 40 bytes, in <see cref="KeyTable"/>'s pages. No references: the GC never looks inside.
/// A compact key (<see cref="Form"/> below <see cref="ObjectForm"/>) keeps its key and string value side by side in
/// a slab block at <see cref="Addr"/>; an object key (a collection, a long string, or a string a command asked to
/// see as a <see cref="RedisEntry"/>) has its <see cref="RedisEntry"/> at index <see cref="Addr"/> of
/// <see cref="KeyTable.Objects"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KeySlot
{
    /// <summary>Form of an object key (an entry in <see cref="KeyTable.Objects"/>).</summary>
    public const byte ObjectForm = 0x80;

    /// <summary>Form of a slot on the free list.</summary>
    public const byte FreeForm = 0xFF;

    public uint Hash;
    public int Next;            // bucket chain, or the free list; -1 = end
    public long Addr;           // slab address of [key][value], or index in Objects
    public int KeyLength;
    public int ValueLength;     // compact: the string's length
    public long Access;         // LRU clock (unix ms) or LFU's packed minutes and counter
    public int ExpiresSlot;     // index in Expires, -1 = no TTL
    public RedisType Type;
    public byte Form;           // StringForm of a compact string, ObjectForm, or FreeForm
    public byte Mark;           // = the database's SnapshotEpoch once the running snapshot holds this key
    public byte SizeClass;      // the slab block's class (compact)

    public readonly bool IsObject => Form >= ObjectForm;
}

/// <summary>A key with a TTL: the dense array active expiry walks.</summary>
internal struct TtlSlot
{
    public int Slot;
    public long ExpireAt;
}

/// <summary>
/// Everything one database holds, as a unit FLUSHDB drops (handing it to a running snapshot) and SWAPDB exchanges:
/// the bucket index, the slot pages, the slab, the side table of objects and the TTL array, and the accounting.
/// See the Store README for the picture.
/// </summary>
internal sealed class KeyTable
{
    public const int MinBuckets = 4;
    private const int PageShift = 12;
    private const int PageSize = 1 << PageShift;

    /// <summary>Bytes of one <see cref="KeySlot"/>.</summary>
    public static readonly int SlotBytes = Unsafe.SizeOf<KeySlot>();

    public int[] Buckets = NewBuckets(MinBuckets);   // head slot per bucket, -1 = empty
    public int Count;
    private KeySlot[][] _pages = [];
    private int _slotTop;          // slots ever handed out
    private int _freeSlot = -1;    // free list through KeySlot.Next

    public readonly Slab Slab = new();

    public RedisEntry?[] Objects = [];
    private int _objectTop;
    private int[] _freeObjects = [];
    private int _freeObjectCount;
    public int ObjectCount;

    public TtlSlot[] Expires = [];
    public int ExpiresCount;
    public int ExpireCursor;
    public int DemoteCursor;

    /// <summary>Σ over live keys (see <see cref="RedisDatabase.UsedMemory"/>).</summary>
    public long UsedBytes;

    public static int[] NewBuckets(int size)
    {
        var b = GC.AllocateUninitializedArray<int>(size);
        b.AsSpan().Fill(-1);
        return b;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref KeySlot At(int slot) => ref _pages[slot >> PageShift][slot & (PageSize - 1)];

    /// <summary>Slots in use and free (for the slab statistics).</summary>
    public long SlotCapacity => (long)_pages.Length * PageSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> KeyOf(ref KeySlot k) =>
        k.IsObject ? Objects[(int)k.Addr]!.Key : Slab.Span(k.Addr, k.KeyLength);

    /// <summary>The string value of a compact slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> CompactValue(ref KeySlot k) => Slab.Span(k.Addr + k.KeyLength, k.ValueLength);

    public int NewSlot()
    {
        int s = _freeSlot;
        if (s >= 0)
        {
            _freeSlot = At(s).Next;
            return s;
        }
        if (_slotTop == _pages.Length << PageShift)
        {
            Array.Resize(ref _pages, _pages.Length + 1);
            _pages[^1] = new KeySlot[PageSize];
        }
        return _slotTop++;
    }

    public void FreeSlot(int s)
    {
        ref var k = ref At(s);
        k = default;
        k.Form = KeySlot.FreeForm;
        k.Next = _freeSlot;
        _freeSlot = s;
    }

    public int AddObject(RedisEntry e)
    {
        int i;
        if (_freeObjectCount > 0) i = _freeObjects[--_freeObjectCount];
        else
        {
            if (_objectTop == Objects.Length) Array.Resize(ref Objects, Math.Max(16, Objects.Length * 2));
            i = _objectTop++;
        }
        Objects[i] = e;
        ObjectCount++;
        return i;
    }

    public void RemoveObject(int i)
    {
        Objects[i] = null;
        if (_freeObjectCount == _freeObjects.Length) Array.Resize(ref _freeObjects, Math.Max(16, _freeObjects.Length * 2));
        _freeObjects[_freeObjectCount++] = i;
        ObjectCount--;
    }

    /// <summary>Index slots ever used by <see cref="Objects"/> (the demotion sweep's range).</summary>
    public int ObjectTop => _objectTop;

    /// <summary>Rebuilds the bucket index with <paramref name="size"/> buckets (a power of two).</summary>
    public void Resize(int size)
    {
        var old = Buckets;
        var buckets = NewBuckets(size);
        uint mask = (uint)size - 1;
        foreach (int head in old)
        {
            int s = head;
            while (s >= 0)
            {
                ref var k = ref At(s);
                int next = k.Next;
                ref int slot = ref buckets[k.Hash & mask];
                k.Next = slot;
                slot = s;
                s = next;
            }
        }
        Buckets = buckets;
    }

    public int ShrinkTarget => Math.Max(MinBuckets, (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(Count * 2, 1)));

    public KeyView View(int slot)
    {
        ref var k = ref At(slot);
        long expireAt = k.ExpiresSlot >= 0 ? Expires[k.ExpiresSlot].ExpireAt : -1;
        if (k.IsObject)
        {
            var e = Objects[(int)k.Addr]!;
            return new KeyView(slot, e.Key, e.Type, e.StringValue, e.Obj, expireAt, k.Access, e.Form, false);
        }
        return new KeyView(slot, Slab.Span(k.Addr, k.KeyLength), k.Type, CompactValue(ref k), null, expireAt, k.Access,
            (StringForm)k.Form, true);
    }
}

/// <summary>
/// A key as the walks see it (SAVE, a snapshot, KEYS, DEBUG, tests): key, type, value and TTL, read in place without
/// turning a compact key into an object. Valid until the database next changes.
/// </summary>
public readonly ref struct KeyView
{
    internal KeyView(int slot, ReadOnlySpan<byte> key, RedisType type, ReadOnlySpan<byte> stringValue, RedisObject? obj,
        long expireAtMs, long access, StringForm form, bool compact)
    {
        Slot = slot;
        Key = key;
        Type = type;
        StringValue = stringValue;
        Object = obj;
        ExpireAtMs = expireAtMs;
        LastAccessMs = access;
        Form = form;
        IsCompact = compact;
    }

    /// <summary>The key's slot in its database (valid while the key lives).</summary>
    public int Slot { get; }
    public ReadOnlySpan<byte> Key { get; }
    public RedisType Type { get; }
    public ReadOnlySpan<byte> StringValue { get; }
    public RedisObject? Object { get; }
    public long ExpireAtMs { get; }
    public bool HasExpire => ExpireAtMs >= 0;
    public long LastAccessMs { get; }
    internal StringForm Form { get; }

    /// <summary>OBJECT ENCODING's answer.</summary>
    public string Encoding => RedisEntry.EncodingOf(Type, Object, Form, StringValue);

    /// <summary>OBJECT REFCOUNT's answer.</summary>
    public int RefCount => RedisEntry.RefCountOf(Type, Form, StringValue);

    /// <summary>True when the key and value sit in a slab block (no object).</summary>
    public bool IsCompact { get; }
}
