using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// Wraps the response body: every write goes to the client (unless the response is held back until the key is
/// committed) and is copied into a pooled buffer, up to a limit, to be stored for replay. The headers to store are
/// copied just before the first write or flush reaches the middleware outside (<see cref="CaptureHeaders"/>).
/// </summary>
/// <remarks>
/// Middleware registered before <c>UseIdempotency()</c> changes headers as the body reaches it: response compression
/// adds <c>Content-Encoding</c> and removes <c>Content-Length</c> on its first write. The stored body is what the
/// handler wrote, so the stored headers must be the handler's too, read before that first write, never after it.
/// </remarks>
internal sealed class ResponseCaptureStream : Stream
{
    private readonly HttpResponse _response;
    private readonly Stream? _inner;
    private readonly int _maxCaptured;
    private byte[] _buffer;
    private int _length;
    private List<KeyValuePair<string, StringValues>>? _headers;

    /// <param name="response">The response whose headers are stored with the body.</param>
    /// <param name="inner">The client's body stream, or <see langword="null"/> to hold the whole response back.</param>
    /// <param name="maxCaptured">The most bytes to keep for storage; past it, <see cref="Overflowed"/> is set.</param>
    public ResponseCaptureStream(HttpResponse response, Stream? inner, int maxCaptured)
    {
        _response = response;
        _inner = inner;
        _maxCaptured = maxCaptured;
        _buffer = ArrayPool<byte>.Shared.Rent(4096);
    }

    /// <summary>Gets whether the body grew past the storable limit; the copy was then dropped.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>Gets the total bytes written by the handler.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>
    /// Gets whether any of the body was passed on to the middleware outside: written to its stream, or flushed from
    /// the body writer. Bytes committed to the body writer and never flushed did not leave.
    /// </summary>
    public bool PassedOn { get; private set; }

    /// <summary>Gets the captured body; empty once <see cref="Overflowed"/>.</summary>
    public ReadOnlyMemory<byte> Captured => _buffer.AsMemory(0, _length);

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>
    /// Gets or sets the handler's body writer when it writes straight into the writer outside: its committed, unflushed
    /// bytes are flushed before each write here, so that this write cannot overtake them.
    /// </summary>
    public ResponseCapturePipeWriter? Writer { get; set; }

    /// <summary>Gets the replayable headers as they were when <see cref="CaptureHeaders"/> ran (empty before).</summary>
    public IReadOnlyList<KeyValuePair<string, StringValues>> Headers => _headers ?? [];

    /// <summary>
    /// Copies the replayable headers, once: called before anything is passed to the middleware outside, and after the
    /// handler returned for a response that passed nothing on (held back, or without a body).
    /// </summary>
    public void CaptureHeaders()
    {
        _headers ??= ReplayableHeaders.Copy(_response.Headers);
    }

    /// <summary>Notes that bytes the body writer committed are being passed on to the middleware outside.</summary>
    public void MarkPassedOn() => PassedOn = true;

    /// <summary>
    /// Keeps what is about to be passed on to the middleware outside: the headers first (once, before anything reaches
    /// it), then a copy of the bytes; non-empty bytes mark the body as <see cref="PassedOn"/>.
    /// </summary>
    public void CapturePassedOn(ReadOnlySpan<byte> data)
    {
        CaptureHeaders();
        CaptureWritten(data);
        PassedOn |= !data.IsEmpty;
    }

    /// <summary>Copies bytes the handler wrote into the buffer to store, up to the limit.</summary>
    public void CaptureWritten(ReadOnlySpan<byte> data)
    {
        BytesWritten += data.Length;
        if (BytesWritten > _maxCaptured)
        {
            // Streaming, the client has its copy and ours can no longer be stored; held back, the response cannot be
            // committed (the middleware rolls back). Either way, stop paying for the copy: memory stays bounded.
            Overflowed = true;
            _length = 0;
            return;
        }

        if (_length + data.Length > _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max((long)_buffer.Length * 2, (long)_length + data.Length)));
            _buffer.AsSpan(0, _length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        data.CopyTo(_buffer.AsSpan(_length));
        _length += data.Length;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_inner is null)
        {
            CaptureWritten(buffer);
            return;
        }

        if (Writer is { HasUnflushedBytes: true } writer)
        {
            // Synchronous writes are the application's choice (AllowSynchronousIO); so is waiting for this flush.
            writer.FlushUnflushedAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }

        // The headers before the bytes reach the middleware outside, the copy only once the stream outside took them:
        // a server that disallows synchronous IO throws before anything leaves, and the key must then be released.
        CaptureHeaders();
        _inner.Write(buffer);
        CapturePassedOn(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_inner is null)
        {
            CaptureWritten(buffer.Span);
            return ValueTask.CompletedTask;
        }

        if (Writer is { HasUnflushedBytes: true } writer)
        {
            return FlushWriterThenWriteAsync(writer, buffer, cancellationToken);
        }

        CapturePassedOn(buffer.Span);
        return _inner.WriteAsync(buffer, cancellationToken);
    }

    // As Kestrel's response stream does: Stream's own BeginWrite runs the synchronous Write, which a server that
    // disallows synchronous IO refuses.
    public override IAsyncResult BeginWrite(byte[] buffer, int offset, int count, AsyncCallback? callback, object? state) =>
        TaskToAsyncResult.Begin(WriteAsync(buffer, offset, count, CancellationToken.None), callback, state);

    public override void EndWrite(IAsyncResult asyncResult) => TaskToAsyncResult.End(asyncResult);

    public override void Flush()
    {
        if (_inner is not null)
        {
            Writer?.FlushUnflushedAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
            CaptureHeaders(); // a flush starts the response outside
            _inner.Flush();
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_inner is null)
        {
            return Task.CompletedTask;
        }

        if (Writer is { HasUnflushedBytes: true } writer)
        {
            return FlushWriterThenFlushAsync(writer, cancellationToken);
        }

        CaptureHeaders();
        return _inner.FlushAsync(cancellationToken);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>
    /// Returns the copy's buffer to the pool once the middleware has stored and sent it. Never on
    /// <see cref="Stream.Dispose()"/>: a handler disposes <c>Response.Body</c> (a <see cref="StreamWriter"/> without
    /// <c>leaveOpen</c>) while its body is still to be stored, or, held back, still to be sent; Kestrel's stream keeps
    /// working after that, and so does this one.
    /// </summary>
    public void ReturnBuffer()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            _length = 0;
        }
    }

    private async Task FlushWriterThenFlushAsync(ResponseCapturePipeWriter writer, CancellationToken cancellationToken)
    {
        await writer.FlushUnflushedAsync(cancellationToken);
        CaptureHeaders();
        await _inner!.FlushAsync(cancellationToken);
    }

    private async ValueTask FlushWriterThenWriteAsync(ResponseCapturePipeWriter writer, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        await writer.FlushUnflushedAsync(cancellationToken);
        CapturePassedOn(buffer.Span);
        await _inner!.WriteAsync(buffer, cancellationToken);
    }
}
