using System.IO.Pipelines;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// The handler's <c>Response.BodyWriter</c> while its response streams to the client: the handler writes straight
/// into the body writer of the middleware outside (no buffer of its own, no stream in between), and each span it
/// commits with <see cref="Advance"/> is copied into the <see cref="ResponseCaptureStream"/>'s buffer on the way.
/// </summary>
/// <remarks>
/// <para>
/// The headers to store are copied just before the first flush (or write) reaches the writer outside: that is when
/// ASP.NET Core's server starts the response and middleware outside (response compression, output caching, whose
/// writers buffer in front of their streams) sees the bytes and changes the headers for its own. Leasing memory and
/// committing bytes change nothing there, so headers the handler sets after <see cref="GetMemory"/> or
/// <see cref="Advance"/> and before its flush are stored, as they reach the client.
/// </para>
/// <para>
/// Bytes committed here wait in the writer outside until a flush, while a write through <c>Response.Body</c> goes to
/// the stream outside at once; when the two are not one pipe (response compression's writer buffers in front of its
/// stream), the stream's bytes would overtake the writer's. <see cref="ResponseCaptureStream"/> therefore flushes this
/// writer before each write of its own (<see cref="HasUnflushedBytes"/>), so the client and the stored body see the
/// writes in the order the handler made them.
/// </para>
/// </remarks>
internal sealed class ResponseCapturePipeWriter : PipeWriter
{
    private readonly ResponseCaptureStream _capture;
    private readonly PipeWriter _outer;
    private Memory<byte> _leased;
    private bool _completed;

    /// <param name="capture">Keeps the copy of the body and the headers.</param>
    /// <param name="outer">The body writer of the middleware outside; never completed here (the response outside completes when the pipeline returns).</param>
    public ResponseCapturePipeWriter(ResponseCaptureStream capture, PipeWriter outer)
    {
        _capture = capture;
        _outer = outer;
    }

    /// <summary>Gets whether bytes committed with <see cref="Advance"/> have not been flushed to the writer outside yet.</summary>
    public bool HasUnflushedBytes { get; private set; }

    public override bool CanGetUnflushedBytes => _outer.CanGetUnflushedBytes;

    public override long UnflushedBytes => _outer.UnflushedBytes;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        ThrowIfCompleted();
        _leased = _outer.GetMemory(sizeHint);
        return _leased;
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        ThrowIfCompleted();
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes, _leased.Length);
        _capture.CaptureWritten(_leased.Span[..bytes]);
        _leased = _leased[bytes..];
        _outer.Advance(bytes);
        HasUnflushedBytes |= bytes > 0;
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        _capture.CaptureHeaders(); // a flush starts the response outside
        if (HasUnflushedBytes)
        {
            _capture.MarkPassedOn();
        }

        HasUnflushedBytes = false;
        _leased = default; // the memory outside is no longer ours to write
        return _outer.FlushAsync(cancellationToken);
    }

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        ThrowIfCompleted();
        if (HasUnflushedBytes)
        {
            _capture.MarkPassedOn();
        }

        _capture.CapturePassedOn(source.Span);
        HasUnflushedBytes = false; // the writer outside writes and flushes what it held before the source
        _leased = default;
        return _outer.WriteAsync(source, cancellationToken);
    }

    public override void CancelPendingFlush() => _outer.CancelPendingFlush();

    /// <summary>
    /// Ends the handler's writing (<c>Response.CompleteAsync()</c>, or the handler completing its writer); the writer
    /// outside is flushed, not completed.
    /// </summary>
    public override void Complete(Exception? exception = null) => _completed = true;

    public override ValueTask CompleteAsync(Exception? exception = null)
    {
        _completed = true;
        return FlushUnflushedAsync(CancellationToken.None);
    }

    /// <summary>Flushes the bytes committed with <see cref="Advance"/> to the writer outside, if there are any.</summary>
    public ValueTask FlushUnflushedAsync(CancellationToken cancellationToken)
    {
        if (!HasUnflushedBytes)
        {
            return ValueTask.CompletedTask;
        }

        var flush = FlushAsync(cancellationToken);
        if (flush.IsCompletedSuccessfully)
        {
            flush.GetAwaiter().GetResult();
            return ValueTask.CompletedTask;
        }

        return AwaitFlushAsync(flush);

        static async ValueTask AwaitFlushAsync(ValueTask<FlushResult> flush) => await flush;
    }

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            throw new InvalidOperationException("Writing is not allowed after the response body writer was completed.");
        }
    }
}
