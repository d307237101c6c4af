using System.Net;

namespace Idempotency;

/// <summary>
/// Gives every unsafe request an <c>Idempotency-Key</c> unless the caller set one, so that every retry of the same
/// <see cref="HttpRequestMessage"/> carries the same key; and re-sends after a 409 <c>request-in-flight</c>, waiting
/// <c>Retry-After</c>. A 422 <c>key-reused</c> is returned at once, never re-sent. Replays and key reuse are read from
/// the response with <see cref="IdempotencyHttpResponseExtensions.IsIdempotentReplay"/> and
/// <see cref="IdempotencyHttpResponseExtensions.IsIdempotencyKeyReusedAsync"/>.
/// </summary>
/// <remarks>
/// The key lives on the request message, so the handler must run before anything that retries, hedges or clones
/// the message: registered with <c>AddIdempotencyKeys()</c> it is always placed first in the client's pipeline,
/// outside <c>AddStandardResilienceHandler()</c> and any Polly handler, whatever the order of the calls.
/// </remarks>
public sealed class IdempotencyKeyHandler : DelegatingHandler
{
    // The longest delay Task.Delay accepts (about 49.7 days); a longer Retry-After would make it throw after the 409
    // has been disposed, so it is treated like one longer than MaxRetryAfter: the 409 goes back to the caller.
    private static readonly TimeSpan s_longestTimerWait = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly IdempotencyKeyHandlerOptions _options;
    private readonly TimeProvider _timeProvider;

    /// <summary>Initializes a handler.</summary>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <param name="timeProvider">The clock used to wait for <c>Retry-After</c>; <see langword="null"/> for the system clock.</param>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <see cref="IdempotencyKeyHandlerOptions.MaxInFlightRetries"/>, <see cref="IdempotencyKeyHandlerOptions.MaxRetryAfter"/> or
    /// <see cref="IdempotencyKeyHandlerOptions.MaxResendBufferSize"/> is negative.
    /// </exception>
    /// <exception cref="ArgumentException"><see cref="IdempotencyKeyHandlerOptions.HeaderName"/> is not a valid HTTP header name.</exception>
    public IdempotencyKeyHandler(IdempotencyKeyHandlerOptions? options = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? new IdempotencyKeyHandlerOptions();
        ThrowIfInvalid(_options);
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// Sends the request synchronously (<see cref="HttpClient.Send(HttpRequestMessage)"/>) with its key, like
    /// <see cref="SendAsync"/>; a 409 <c>request-in-flight</c> is returned to the caller rather than waited for, as that
    /// would block the thread for <c>Retry-After</c>.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The response.</returns>
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_options.Methods.Contains(request.Method.Method))
        {
            AddKey(request);
        }

        return base.Send(request, cancellationToken);
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_options.Methods.Contains(request.Method.Method))
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        AddKey(request);
        if (_options.MaxInFlightRetries == 0)
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        // A re-send goes under the same key, so it must carry the same bytes: a body the content may not write twice
        // alike is kept as it is first sent (up to MaxResendBufferSize) and written from that copy afterwards.
        var content = request.Content;
        var sendsSameBytes = content is null || SendsTheSameBytesEachTime(content, _options.MaxResendBufferSize);
        var recording = sendsSameBytes || _options.MaxResendBufferSize == 0 ? null : new RecordingContent(content!, _options.MaxResendBufferSize);
        if (recording is not null)
        {
            request.Content = recording;
        }

        try
        {
            var retries = 0;
            while (true)
            {
                var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
                if (retries >= _options.MaxInFlightRetries
                    || response.StatusCode != HttpStatusCode.Conflict
                    || RetryAfter(response) is not { } delay
                    || delay > _options.MaxRetryAfter
                    || delay > s_longestTimerWait
                    // Never a different body under the same key: one that was not kept whole is not sent again.
                    || !(sendsSameBytes || recording?.IsRecorded == true)
                    // Only the middleware's own 409 means "same key still running"; an application's 409 (say,
                    // insufficient funds) is a final answer and must never be re-sent.
                    || !await IsRequestInFlightAsync(response, cancellationToken).ConfigureAwait(false))
                {
                    return response;
                }

                retries++;
                response.Dispose();
                await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            // The caller's request keeps the content the caller gave it (and disposes it with the request), unless a
            // redirect to GET took the content off the request.
            if (recording is not null && ReferenceEquals(request.Content, recording))
            {
                request.Content = content;
            }
        }
    }

    // Contents that write the same bytes every time they are sent, so need no copy. Exact types only: a subclass may
    // write something else. A StreamContent seeks back to where it started or throws, never writes other bytes; it is
    // copied all the same when short enough, as a stream it cannot seek is sent again only from a copy. A longer one is
    // sent again only when its stream can seek: a Content-Length the caller declared on a stream that cannot (its
    // length is not computed then) would otherwise make the re-send throw "already consumed" in place of the 409.
    private static bool SendsTheSameBytesEachTime(HttpContent content, int copyLimit)
    {
        var type = content.GetType();
        if (type == typeof(ByteArrayContent) || type == typeof(StringContent) || type == typeof(FormUrlEncodedContent) || type == typeof(ReadOnlyMemoryContent))
        {
            return true;
        }

        if (type == typeof(StreamContent))
        {
            // StreamContent's read stream is a read-only view of its stream, which tells whether that can seek; getting
            // it reads nothing.
            return content.Headers.ContentLength > copyLimit && content.ReadAsStream().CanSeek;
        }

        return (type == typeof(MultipartContent) || type == typeof(MultipartFormDataContent))
            && ((MultipartContent)content).All(part => SendsTheSameBytesEachTime(part, copyLimit));
    }

    private static async Task<bool> IsRequestInFlightAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return await ProblemTypeReader.HasTypeAsync(response, ProblemTypeReader.RequestInFlight, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Cancelled or broken while reading the body: the caller never gets this response, so nobody else would free its connection.
            response.Dispose();
            throw;
        }
    }

    private void AddKey(HttpRequestMessage request)
    {
        // HttpContent's headers take custom fields too, and both collections go on the wire: a key the caller put on
        // the content is the caller's key, and a second, generated one next to it would make two different keys.
        if (!request.Headers.Contains(_options.HeaderName) && request.Content?.Headers.Contains(_options.HeaderName) != true)
        {
            request.Headers.TryAddWithoutValidation(_options.HeaderName, FormatKey(CreateKey(request)));
        }
    }

    private string CreateKey(HttpRequestMessage request)
    {
        var key = _options.KeyGenerator?.Invoke(request) ?? Guid.CreateVersion7().ToString();
        if (IdempotencyKeyParser.TryParse(key, strict: false, IdempotencyProtocol.MaxKeyLength, out var parsed) != IdempotencyKeyParseStatus.Valid
            || !string.Equals(parsed, key, StringComparison.Ordinal))
        {
            // Never the value itself: a generator builds it from the request (an order id, an e-mail address), and
            // the application logs this exception at Error.
            throw new InvalidOperationException(
                $"IdempotencyKeyHandlerOptions.KeyGenerator returned a value that is not a valid idempotency key: {DescribeInvalidKey(key)}. " +
                $"Return 1 to {IdempotencyProtocol.MaxKeyLength} visible ASCII characters other than '\"', '\\', ',' and ';' " +
                "(the value is not quoted here, as it may hold data of the request).");
        }

        return key;
    }

    // What is wrong with a key, and where (a 1-based position), without any of its characters but a forbidden one.
    private static string DescribeInvalidKey(string key)
    {
        if (key.Length == 0)
        {
            return "it is empty";
        }

        if (key.Length > IdempotencyProtocol.MaxKeyLength)
        {
            return $"it is {key.Length} characters long, and the most is {IdempotencyProtocol.MaxKeyLength}";
        }

        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            var problem = c switch
            {
                ' ' => "a space",
                '"' or '\\' or ',' or ';' => $"'{c}'",
                _ when c < ' ' || c == '\u007F' => "a control character",
                _ when !char.IsAscii(c) => "not ASCII",
                _ => null,
            };
            if (problem is not null)
            {
                return $"its character at position {i + 1} is {problem}";
            }
        }

        return "it is not a key the Idempotency-Key header can carry";
    }

    /// <summary>
    /// Refuses options the handler cannot work with, where they are configured rather than on every request: a negative
    /// <see cref="IdempotencyKeyHandlerOptions.MaxInFlightRetries"/> or <see cref="IdempotencyKeyHandlerOptions.MaxResendBufferSize"/>; a negative
    /// <see cref="IdempotencyKeyHandlerOptions.MaxRetryAfter"/> (every <c>Retry-After</c> is longer than it, so it would
    /// silently turn the in-flight re-send off; <see cref="Timeout.InfiniteTimeSpan"/>, .NET's usual "no limit", is one,
    /// -1 ms); a <see cref="IdempotencyKeyHandlerOptions.HeaderName"/> that is not an HTTP token (every request would fail
    /// when the header is added).
    /// </summary>
    internal static void ThrowIfInvalid(IdempotencyKeyHandlerOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxInFlightRetries, $"{nameof(IdempotencyKeyHandlerOptions)}.{nameof(IdempotencyKeyHandlerOptions.MaxInFlightRetries)}");
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxResendBufferSize, $"{nameof(IdempotencyKeyHandlerOptions)}.{nameof(IdempotencyKeyHandlerOptions.MaxResendBufferSize)}");
        ArgumentOutOfRangeException.ThrowIfLessThan(
            options.MaxRetryAfter,
            TimeSpan.Zero,
            $"{nameof(IdempotencyKeyHandlerOptions)}.{nameof(IdempotencyKeyHandlerOptions.MaxRetryAfter)}");
        var headerName = $"{nameof(IdempotencyKeyHandlerOptions)}.{nameof(IdempotencyKeyHandlerOptions.HeaderName)}";
        ArgumentException.ThrowIfNullOrWhiteSpace(options.HeaderName, headerName);
        if (!IsToken(options.HeaderName))
        {
            throw new ArgumentException(
                $"{headerName} must be a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~); '{options.HeaderName}' is not.", headerName);
        }
    }

    // RFC 9110 section 5.1: a field name is a token.
    private static bool IsToken(string value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && "!#$%&'*+-.^_`|~".IndexOf(c, StringComparison.Ordinal) < 0)
            {
                return false;
            }
        }

        return true;
    }

    private static string FormatKey(string key) => "\"" + key + "\"";

    private TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - _timeProvider.GetUtcNow() is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };
}
