using System.IO.MemoryMappedFiles;

namespace Demikernel.Catmem;

/// <summary>
/// A file in shared memory (<c>/dev/shm</c>, tmpfs) mapped into this process: the bytes two processes share. The file
/// is zero-filled when created, so every header field starts at 0. The mapping outlives the file's name: the server
/// unlinks a connection's file once both ends have it mapped, so nothing is left behind when either process dies.
/// </summary>
internal sealed unsafe class SharedSegment : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _base;

    private SharedSegment(string path, MemoryMappedFile file, MemoryMappedViewAccessor view, long length)
    {
        Path = path;
        _file = file;
        _view = view;
        Length = length;
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + view.PointerOffset;
    }

    public string Path { get; }

    public long Length { get; }

    /// <summary>The first byte of the mapping; valid until <see cref="Dispose"/>.</summary>
    public byte* Base => _base;

    /// <summary>Creates a new file of <paramref name="length"/> bytes; null if the name exists already.</summary>
    public static SharedSegment? TryCreate(string path, long length)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (IOException) when (File.Exists(path))
        {
            return null;
        }
        stream.SetLength(length);
        return Map(path, stream, length);
    }

    /// <summary>Maps an existing file whole; null if it does not exist (or is shorter than <paramref name="minimum"/>).</summary>
    public static SharedSegment? TryOpen(string path, long minimum)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        long length = stream.Length;
        if (length < minimum)
        {
            stream.Dispose();
            return null;
        }
        return Map(path, stream, length);
    }

    private static SharedSegment Map(string path, FileStream stream, long length)
    {
        // leaveOpen: false, so the mapping owns the descriptor; the mapping itself keeps the pages after the name goes.
        var file = MemoryMappedFile.CreateFromFile(stream, null, length, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
        var view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.ReadWrite);
        return new SharedSegment(path, file, view, length);
    }

    /// <summary>Removes the name; the mappings of both processes stay valid.</summary>
    public void Unlink()
    {
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
            // already gone (the peer unlinked it first)
        }
    }

    public void Dispose()
    {
        if (_base == null) return;
        _base = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
