using Demikernel.Resp;

namespace Demikernel.Fuzz;

/// <summary>
/// RESP parsing. Invariants: the scanners never throw and never report a frame longer than the bytes given; a request
/// stream scans to the same requests and errors whether it arrives whole or in pieces (the first input byte picks
/// the piece size); the reader walks any frame the frame scanner accepted to its exact end without an exception,
/// and on arbitrary bytes throws nothing but <see cref="FormatException"/> (its documented "bad input").
/// </summary>
internal static class RespTargets
{
    private static readonly RespRequestScanner s_whole = new();
    private static readonly RespRequestScanner s_pieces = new();
    private static readonly RespArgs s_wholeArgs = new();
    private static readonly RespArgs s_piecesArgs = new();
    private static readonly RespFrameScanner s_frames = new();

    public static void RequestScanner(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty) return;
        int piece = input[0] % 7 + 1;
        var data = input[1..];
        s_whole.Reset();
        s_pieces.Reset();
        int wholeAt = 0, piecesAt = 0, available = 0;
        while (true)
        {
            // whole: everything available at once
            var ws = s_whole.TryScan(data[wholeAt..], s_wholeArgs, out int wc, out var we);
            // pieces: the same bytes, revealed `piece` at a time, the unconsumed ones kept contiguous
            RespScanStatus ps;
            int pc;
            RespProtocolError pe;
            while (true)
            {
                ps = s_pieces.TryScan(data[piecesAt..available], s_piecesArgs, out pc, out pe);
                if (ps != RespScanStatus.NeedMoreData || available == data.Length) break;
                available = Math.Min(data.Length, available + piece);
            }
            Invariant.True(ws == ps, $"whole scan {ws} but fragmented scan {ps} at offset {wholeAt}");
            if (ws == RespScanStatus.NeedMoreData) return;
            if (ws == RespScanStatus.Error)
            {
                Invariant.True(we.Kind == pe.Kind, $"whole error {we.Kind} but fragmented error {pe.Kind}");
                Invariant.True(we.Message.Length > 0, "an error without its reply text");
                return;
            }
            Invariant.True(wc > 0 && wc <= data.Length - wholeAt, $"consumed {wc} of {data.Length - wholeAt} bytes");
            Invariant.True(wc == pc, $"whole request is {wc} bytes, fragmented {pc}");
            var wholeFrame = data.Slice(wholeAt, wc);
            var piecesFrame = data.Slice(piecesAt, pc);
            Invariant.True(s_wholeArgs.Count == s_piecesArgs.Count, "argument counts differ");
            for (int i = 0; i < s_wholeArgs.Count; i++)
                Invariant.True(s_wholeArgs.Get(wholeFrame, i).SequenceEqual(s_piecesArgs.Get(piecesFrame, i)), $"argument {i} differs");
            wholeAt += wc;
            piecesAt += pc;
            available = Math.Max(available, piecesAt);
        }
    }

    public static void FrameReader(ReadOnlySpan<byte> input)
    {
        // Arbitrary bytes straight into the reader: only FormatException may come out.
        try
        {
            var any = new RespReader(input);
            for (int i = 0; i < 10_000 && any.TryRead(); i++) Touch(ref any);
        }
        catch (FormatException)
        {
        }

        int at = 0;
        while (at < input.Length)
        {
            s_frames.Reset();
            var status = s_frames.TryScan(input[at..], out int length, out var error);
            if (status != RespScanStatus.Complete) return;
            Invariant.True(length > 0 && length <= input.Length - at, $"frame length {length} of {input.Length - at} bytes");
            var frame = input.Slice(at, length);
            var reader = new RespReader(frame);
            try
            {
                while (reader.TryRead()) Touch(ref reader);
            }
            catch (FormatException e)
            {
                throw new InvariantException($"the scanner accepted a {length}-byte frame the reader refuses: {e.Message}");
            }
            Invariant.True(reader.Position == length, $"the reader stopped at {reader.Position} of a {length}-byte frame");
            at += length;
        }
    }

    /// <summary>Reads the current token every way that applies to it (each may refuse with FormatException only for
    /// a value of the wrong kind, which is not a bug).</summary>
    private static void Touch(ref RespReader r)
    {
        _ = r.Value.Length;
        _ = r.VerbatimFormat.Length;
        _ = r.AggregateLength;
        _ = r.IsNull;
        if (r.IsAggregate || r.IsNull) return;
        try { _ = r.ReadInt64(); } catch (FormatException) { }
        try { _ = r.ReadDouble(); } catch (FormatException) { }
        try { _ = r.ReadBoolean(); } catch (FormatException) { }
        try { _ = r.ReadString(); } catch (FormatException) { }
    }
}
