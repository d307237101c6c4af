using System.Buffers;
using System.IO.Pipelines;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// The handler's <c>Response.BodyWriter</c> while its response is held back until a unit-of-work store commits: each
/// span the handler commits with <see cref="Advance"/> goes into the <see cref="ResponseCaptureStream"/>'s buffer at
/// once, as a write through <c>Response.Body</c> does, so the body sent after the commit (and stored) keeps the order
/// of the handler's writes whichever API made them. A flush has nothing to pass on: nothing leaves before the commit.
/// </summary>
internal sealed class HeldResponsePipeWriter : PipeWriter
{
    private const int MinimumLeaseSize = 4096;

    private readonly ResponseCaptureStream _capture;
    private byte[]? _scratch;
    private Memory<byte> _leased;
    private bool _flushCanceled;
    private bool _completed;

    /// <param name="capture">Keeps the held body; its bytes are sent to the client once the outcome is committed.</param>
    public HeldResponsePipeWriter(ResponseCaptureStream capture) => _capture = capture;

    public override bool CanGetUnflushedBytes => true;

    /// <summary>Gets zero: every committed byte is in the held body at once.</summary>
    public override long UnflushedBytes => 0;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        ThrowIfCompleted();
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        var size = Math.Max(sizeHint, MinimumLeaseSize);
        if (_scratch is null || _scratch.Length < size)
        {
            ReturnScratch();
            _scratch = ArrayPool<byte>.Shared.Rent(size);
        }

        // What was committed from the scratch before has been copied out, so a new lease starts at its beginning.
        _leased = _scratch;
        return _leased;
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        ThrowIfCompleted();
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes, _leased.Length);
        _capture.Write(_leased.Span[..bytes]);
        _leased = _leased[bytes..];
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var canceled = _flushCanceled;
        _flushCanceled = false;
        return ValueTask.FromResult(new FlushResult(isCanceled: canceled, isCompleted: false));
    }

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        ThrowIfCompleted();
        _capture.Write(source.Span);
        return FlushAsync(cancellationToken);
    }

    public override void CancelPendingFlush() => _flushCanceled = true;

    /// <summary>Ends the handler's writing (<c>Response.CompleteAsync()</c>, or the handler completing its writer).</summary>
    public override void Complete(Exception? exception = null)
    {
        _completed = true;
        _leased = default;
        ReturnScratch();
    }

    public override ValueTask CompleteAsync(Exception? exception = null)
    {
        Complete(exception);
        return ValueTask.CompletedTask;
    }

    private void ReturnScratch()
    {
        if (_scratch is not null)
        {
            ArrayPool<byte>.Shared.Return(_scratch);
            _scratch = null;
        }
    }

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            throw new InvalidOperationException("Writing is not allowed after the response body writer was completed.");
        }
    }
}
