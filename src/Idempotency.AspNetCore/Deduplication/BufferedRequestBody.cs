using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// The request body the handler reads once the middleware has read it whole for the fingerprint: <c>Request.Body</c>
/// is a <see cref="MemoryStream"/> over the pooled buffer, and <c>Request.BodyReader</c> reads the same bytes at the
/// same position, straight from that buffer (ASP.NET Core would otherwise put a pipe reader with a buffer of its own
/// in front of the stream). A body that middleware or the handler replaces afterwards is read through a pipe reader
/// over the replacement, as ASP.NET Core does. Disposed when the request ends: the buffer goes back to the pool.
/// </summary>
internal sealed class BufferedRequestBody : IRequestBodyPipeFeature, IDisposable
{
    private readonly byte[] _buffer;
    private readonly HttpContext _context;
    private readonly MemoryStream _stream;
    private BufferReader? _reader; // only once something reads through it: a replay never does
    private Stream? _replacement;
    private PipeReader? _replacementReader;

    private BufferedRequestBody(HttpContext context, byte[] buffer, int length)
    {
        _context = context;
        _buffer = buffer;
        _stream = new MemoryStream(buffer, 0, length, writable: false);
    }

    public PipeReader Reader
    {
        get
        {
            var body = _context.Request.Body;
            if (ReferenceEquals(body, _stream))
            {
                return _reader ??= new BufferReader(_buffer, (int)_stream.Length, _stream);
            }

            if (!ReferenceEquals(body, _replacement))
            {
                _replacement = body;
                _replacementReader = PipeReader.Create(body);
                _context.Response.OnCompleted(static reader => ((PipeReader)reader).CompleteAsync().AsTask(), _replacementReader);
            }

            return _replacementReader!;
        }
    }

    /// <summary>
    /// Makes the first <paramref name="length"/> bytes of <paramref name="buffer"/> (rented from the shared pool) the
    /// request's body for everything after the middleware, and returns the buffer to the pool when the request ends.
    /// </summary>
    public static void Use(HttpContext context, byte[] buffer, int length)
    {
        var body = new BufferedRequestBody(context, buffer, length);
        context.Request.Body = body._stream;
        FeatureAccess.Set<IRequestBodyPipeFeature>(context.Features, body);
        context.Response.RegisterForDispose(body);
    }

    public void Dispose()
    {
        _stream.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
    }

    /// <summary>A pipe reader over the buffer whose position is the stream's: reading either one moves both.</summary>
    private sealed class BufferReader(byte[] buffer, int length, MemoryStream stream) : PipeReader
    {
        private ReadOnlySequence<byte> _lastRead;
        private bool _cancelPending;
        private bool _completed;

        public override bool TryRead(out ReadResult result)
        {
            result = Read();
            return true; // the whole body is here: a read never waits
        }

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return new(Read());
        }

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            ThrowIfCompleted();
            stream.Position += _lastRead.Slice(_lastRead.Start, consumed).Length;
            _lastRead = default;
        }

        public override void CancelPendingRead() => _cancelPending = true;

        public override void Complete(Exception? exception = null) => _completed = true;

        private ReadResult Read()
        {
            ThrowIfCompleted();
            var position = (int)Math.Min(stream.Position, length);
            _lastRead = new ReadOnlySequence<byte>(buffer, position, length - position);
            var canceled = _cancelPending;
            _cancelPending = false;
            return new ReadResult(_lastRead, canceled, isCompleted: true);
        }

        private void ThrowIfCompleted()
        {
            if (_completed)
            {
                throw new InvalidOperationException("Reading is not allowed after the request body reader was completed.");
            }
        }
    }
}
