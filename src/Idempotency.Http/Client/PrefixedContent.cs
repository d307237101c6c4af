using System.Net;

namespace Idempotency;

/// <summary>
/// A response body of which the first bytes were already read (to tell a problem's type): those bytes, then the rest of
/// the original stream, streamed rather than buffered. Readable once, like the response content it replaces, which it
/// owns and disposes.
/// </summary>
internal sealed class PrefixedContent(byte[] prefix, Stream rest, HttpContent original) : HttpContent
{
    private int _consumed;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        ThrowIfConsumed();
        await stream.WriteAsync(prefix, cancellationToken).ConfigureAwait(false);
        await rest.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        ThrowIfConsumed();
        stream.Write(prefix);
        rest.CopyTo(stream);
    }

    protected override Task<Stream> CreateContentReadStreamAsync() => Task.FromResult(CreateContentReadStream(CancellationToken.None));

    protected override Stream CreateContentReadStream(CancellationToken cancellationToken)
    {
        ThrowIfConsumed();
        return new PrefixedStream(prefix, rest);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            rest.Dispose();
            original.Dispose();
        }

        base.Dispose(disposing);
    }

    private void ThrowIfConsumed()
    {
        if (Interlocked.Exchange(ref _consumed, 1) != 0)
        {
            throw new InvalidOperationException(
                "The response body was already read: it is streamed from the connection, so it can be read once. Buffer it (LoadIntoBufferAsync) to read it more than once.");
        }
    }

    private sealed class PrefixedStream(byte[] prefix, Stream rest) : Stream
    {
        private int _position;

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

        public override int Read(Span<byte> buffer)
        {
            if (_position < prefix.Length)
            {
                return CopyPrefix(buffer);
            }

            return rest.Read(buffer);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position < prefix.Length)
            {
                return ValueTask.FromResult(CopyPrefix(buffer.Span));
            }

            return rest.ReadAsync(buffer, cancellationToken);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                rest.Dispose();
            }

            base.Dispose(disposing);
        }

        private int CopyPrefix(Span<byte> buffer)
        {
            var count = Math.Min(buffer.Length, prefix.Length - _position);
            prefix.AsSpan(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }
    }
}
