using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// The response body the handler sees while it runs under a claimed key: every API (the stream, the body writer, a
/// sent file) is captured by one <see cref="ResponseCaptureStream"/>, so the stored body keeps the order of the writes
/// and the stored headers are copied before anything reaches the middleware outside. While the response streams, the
/// body writer writes straight into the writer outside (<see cref="ResponseCapturePipeWriter"/>); held back, each
/// span it commits goes into the capture stream at once (<see cref="HeldResponsePipeWriter"/>).
/// </summary>
/// <remarks>
/// Nothing here starts the response outside unless the handler wrote, flushed or started it: a handler that returns
/// an empty 404 leaves it to middleware outside (status-code pages) to render it, on the first response as on every
/// replay, which goes back through the same middleware.
/// </remarks>
internal sealed class ResponseCaptureFeature : IHttpResponseBodyFeature
{
    private readonly ResponseCaptureStream _stream;
    private readonly IHttpResponseBodyFeature? _outer;
    private PipeWriter? _writer;
    private bool _completed;

    /// <param name="stream">The capture stream, which passes writes on to <paramref name="outer"/>'s stream unless held back.</param>
    /// <param name="outer">The body feature of the middleware outside, or <see langword="null"/> when the response is held back.</param>
    public ResponseCaptureFeature(ResponseCaptureStream stream, IHttpResponseBodyFeature? outer)
    {
        _stream = stream;
        _outer = outer;
    }

    public Stream Stream => _stream;

    public PipeWriter Writer
    {
        get
        {
            if (_writer is null)
            {
                if (_outer is null)
                {
                    _writer = new HeldResponsePipeWriter(_stream);
                }
                else
                {
                    var writer = new ResponseCapturePipeWriter(_stream, _outer.Writer);
                    _stream.Writer = writer;
                    _writer = writer;
                }

                if (_completed)
                {
                    _writer.Complete();
                }
            }

            return _writer;
        }
    }

    public void DisableBuffering() => _outer?.DisableBuffering();

    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_outer is null)
        {
            return Task.CompletedTask; // held back: nothing starts before the commit
        }

        _stream.CaptureHeaders();
        return _outer.StartAsync(cancellationToken);
    }

    // Through the capture stream, not the outer feature's SendFileAsync: the file's bytes are part of the stored body.
    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
        SendFileFallback.SendFileAsync(_stream, path, offset, count, cancellationToken);

    /// <summary>
    /// The handler's <c>Response.CompleteAsync()</c>: passes on what it left in the body writer. The response outside
    /// completes when the pipeline returns, as it did before this middleware existed.
    /// </summary>
    public async Task CompleteAsync()
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        if (_writer is not null)
        {
            await _writer.CompleteAsync();
        }
    }

    /// <summary>
    /// After the handler returned: passes on what it left in the body writer (which flushes outside only if there was
    /// something), then copies the headers if nothing had reached the middleware outside.
    /// </summary>
    public async Task FinishAsync()
    {
        await CompleteAsync();
        if (_stream.Writer is { } writer)
        {
            await writer.FlushUnflushedAsync(CancellationToken.None); // committed after a synchronous Complete()
        }

        _stream.CaptureHeaders();
    }
}
