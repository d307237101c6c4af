using System.Buffers;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// A request body of which the first bytes were already read into a pooled buffer: reads return those bytes, then the
/// rest of the body. Used when a body declared small turns out longer (middleware outside replaced it, as request
/// decompression does, and left the client's <c>Content-Length</c>): what was read moves to ASP.NET Core's request
/// buffering with the rest, instead of the pooled buffer growing with the body. Disposing it returns the buffer.
/// </summary>
internal sealed class PrefixedReadStream : Stream
{
    private readonly Stream _rest;
    private byte[]? _prefix;
    private readonly int _prefixLength;
    private int _prefixRead;

    /// <param name="prefix">The bytes already read, in an array rented from the shared pool; this stream owns it from now on.</param>
    /// <param name="prefixLength">How many bytes of <paramref name="prefix"/> were read.</param>
    /// <param name="rest">The body the prefix was read from, positioned right after it.</param>
    public PrefixedReadStream(byte[] prefix, int prefixLength, Stream rest)
    {
        _prefix = prefix;
        _prefixLength = prefixLength;
        _rest = rest;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) =>
        TryReadPrefix(buffer, out var read) ? read : _rest.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        TryReadPrefix(buffer.Span, out var read) ? ValueTask.FromResult(read) : _rest.ReadAsync(buffer, cancellationToken);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && _prefix is not null)
        {
            ArrayPool<byte>.Shared.Return(_prefix);
            _prefix = null;
        }

        base.Dispose(disposing);
    }

    // Copies what is left of the prefix; false once it has all been read (then the rest of the body is read).
    private bool TryReadPrefix(Span<byte> buffer, out int read)
    {
        ObjectDisposedException.ThrowIf(_prefix is null, this);
        read = Math.Min(buffer.Length, _prefixLength - _prefixRead);
        if (read == 0 && !buffer.IsEmpty)
        {
            return false;
        }

        _prefix.AsSpan(_prefixRead, read).CopyTo(buffer);
        _prefixRead += read;
        return true;
    }
}
