using System.Net;

namespace Idempotency;

/// <summary>
/// Stands in for a request content that may not write the same bytes twice (a non-seekable stream, a generator, a
/// <c>JsonContent</c> whose value changes): the first time it is sent it keeps a copy of what it wrote, up to a limit,
/// and every later send writes that copy. So a request re-sent under the same key carries the same body, or, when the
/// body was too long to keep (<see cref="IsRecorded"/> is <see langword="false"/>), is not re-sent by the handler.
/// </summary>
internal sealed class RecordingContent : HttpContent
{
    private const int NotSent = 0;
    private const int Recording = 1;
    private const int Recorded = 2;
    private const int NotRecorded = 3;

    private readonly HttpContent _inner;
    private readonly int _limit;
    private byte[]? _bytes;
    private int _length;
    private int _state;

    public RecordingContent(HttpContent inner, int limit)
    {
        _inner = inner;
        _limit = limit;
        foreach (var header in inner.Headers)
        {
            // Content-Length comes from the inner content through TryComputeLength, set or computed.
            if (!string.Equals(header.Key, "Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }
    }

    /// <summary>Gets whether the whole body was sent once and kept, so that sending it again writes the same bytes.</summary>
    public bool IsRecorded => Volatile.Read(ref _state) == Recorded;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (IsRecorded)
        {
            await stream.WriteAsync(_bytes.AsMemory(0, _length), cancellationToken).ConfigureAwait(false);
            return;
        }

        if (Interlocked.CompareExchange(ref _state, Recording, NotSent) != NotSent)
        {
            // A hedged copy is being recorded right now, or the body could not be kept: the content sends itself, as it
            // would without the handler (a consumed non-seekable stream throws rather than send something else).
            await _inner.CopyToAsync(stream, context, cancellationToken).ConfigureAwait(false);
            return;
        }

        var recorder = new RecordingStream(stream, _limit);
        try
        {
            await _inner.CopyToAsync(recorder, context, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Part of the body may be consumed and nothing complete was kept.
            Volatile.Write(ref _state, NotRecorded);
            throw;
        }

        Finish(recorder);
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (IsRecorded)
        {
            stream.Write(_bytes.AsSpan(0, _length));
            return;
        }

        if (Interlocked.CompareExchange(ref _state, Recording, NotSent) != NotSent)
        {
            _inner.CopyTo(stream, context, cancellationToken);
            return;
        }

        var recorder = new RecordingStream(stream, _limit);
        try
        {
            _inner.CopyTo(recorder, context, cancellationToken);
        }
        catch
        {
            Volatile.Write(ref _state, NotRecorded);
            throw;
        }

        Finish(recorder);
    }

    protected override bool TryComputeLength(out long length)
    {
        var innerLength = _inner.Headers.ContentLength;
        length = innerLength ?? 0;
        return innerLength.HasValue;
    }

    private void Finish(RecordingStream recorder)
    {
        if (recorder.Copy is { } copy)
        {
            _bytes = copy.GetBuffer();
            _length = (int)copy.Length;
            Volatile.Write(ref _state, Recorded);
        }
        else
        {
            Volatile.Write(ref _state, NotRecorded);
        }
    }

    /// <summary>Writes through to the request stream and keeps a copy until it grows past the limit.</summary>
    private sealed class RecordingStream(Stream target, int limit) : Stream
    {
        public MemoryStream? Copy { get; private set; } = new();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Keep(buffer);
            target.Write(buffer);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Keep(buffer.Span);
            return target.WriteAsync(buffer, cancellationToken);
        }

        public override void Flush() => target.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => target.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        private void Keep(ReadOnlySpan<byte> bytes)
        {
            if (Copy is null)
            {
                return;
            }

            if (Copy.Length + bytes.Length > limit)
            {
                Copy = null; // too long to keep: the handler will not re-send this body
                return;
            }

            Copy.Write(bytes);
        }
    }
}
