using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace Idempotency.AspNetCore.Deduplication;

internal sealed partial class IdempotencyMiddleware
{
    private const int BodyChunkSize = 16 * 1024;

    // Bodies up to this size, with a declared Content-Length, are read into one pooled buffer; larger or chunked
    // bodies, and declared small ones that turn out larger (decompressed outside), go through ASP.NET Core's request
    // buffering (memory, then a temporary file).
    private const int PooledBodyLimit = 64 * 1024;

    // Names are the fingerprint's, not the wire's: lowercase, so a header's fingerprint never depends on its case.
    private const string ContentTypeField = "content-type";
    private const string IfMatchField = "if-match";
    private const string IfNoneMatchField = "if-none-match";
    private const string IfModifiedSinceField = "if-modified-since";
    private const string IfUnmodifiedSinceField = "if-unmodified-since";

    // Longer Content-Type values are normalised into a pooled buffer instead of the stack.
    private const int StackMediaTypeLimit = 256;

    // Hashed before a body filtered by IdempotencyPolicy.FingerprintExcludedJsonMembers, with the excluded paths as its
    // value: not a valid header name, so no request header can produce it, and a filtered body never hashes like one
    // sent as is.
    private const string ExcludedJsonMembersField = ":excluded-json-members";

    /// <summary>
    /// The request's version 2 fingerprint: SHA-256 over a version tag, the method, the endpoint's route pattern, the
    /// path base, the path, the query, the media type of <c>Content-Type</c>, the precondition headers, the headers
    /// named by <see cref="IdempotencyOptions.FingerprintHeaders"/> and the endpoint's policy, and the body. The body
    /// is hashed as it is read into the buffer the handler will then read from: one pooled array for small bodies
    /// (<see cref="BufferedRequestBody"/>), ASP.NET Core's request buffer for large ones. It is never held twice. A
    /// JSON body under a policy that excludes members is buffered the same way, then hashed re-written without them.
    /// </summary>
    private static async ValueTask<byte[]> ComputeFingerprintAsync(HttpContext context, Endpoint endpoint, IdempotencyEndpointPolicy policy)
    {
        var request = context.Request;
        using var fingerprint = RequestFingerprintBuilder.ForHttpRequest(
            request.Method, RoutePattern(endpoint), request.PathBase.Value, request.Path.Value, request.QueryString.Value);
        AppendHeaders(fingerprint, request.Headers, policy.FingerprintHeaders);

        if (!HasBody(context))
        {
            return fingerprint.Finish();
        }

        if (policy.ExcludedJsonMembers is { } excluded && FingerprintMediaType.IsJson(request.ContentType))
        {
            await BufferJsonBodyAsync(context, fingerprint, excluded);
            return fingerprint.Finish();
        }

        if (request.ContentLength is long length && length <= PooledBodyLimit)
        {
            await BufferSmallBodyAsync(context, (int)length, fingerprint);
        }
        else
        {
            await BufferLargeBodyAsync(context, fingerprint);
        }

        return fingerprint.Finish();
    }

    // The engine asks for it only after the claim with the version 2 fingerprint answered "mismatch": records written
    // by releases before version 2 hold the version 1 fingerprint. Its claim's answer is then the answer: Completed
    // replays, InFlight is a 409, Claimed runs the request under the same owner token, and another mismatch is a 422.
    // Only this path pays for it: a second pass over the buffered body and a second store call. Remove it, and
    // RequestFingerprintBuilder.ForHttpRequestV1, once no version 1 record can be left: ResponseRetention after version
    // 2 runs on every instance sharing the store.
    // Exactly what releases before version 2 computed: no headers, the same body. The body is buffered by now (a
    // MemoryStream or ASP.NET Core's request buffer), so it is read again from the start and rewound for the handler.
    private static async ValueTask<byte[]?> ComputeV1FingerprintAsync(HttpContext context, Endpoint endpoint)
    {
        var request = context.Request;
        using var fingerprint = RequestFingerprintBuilder.ForHttpRequestV1(
            request.Method, RoutePattern(endpoint), request.PathBase.Value, request.Path.Value, request.QueryString.Value);
        if (!HasBody(context))
        {
            return fingerprint.Finish();
        }

        var body = request.Body;
        if (!body.CanSeek)
        {
            return null;
        }

        body.Position = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(BodyChunkSize);
        try
        {
            int read;
            while ((read = await body.ReadAsync(buffer.AsMemory(0, BodyChunkSize), context.RequestAborted)) > 0)
            {
                fingerprint.AppendBody(buffer.AsSpan(0, read));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        body.Position = 0;
        return fingerprint.Finish();
    }

    private static string? RoutePattern(Endpoint endpoint) => (endpoint as RouteEndpoint)?.RoutePattern.RawText ?? endpoint.DisplayName;

    private static bool HasBody(HttpContext context) =>
        context.Request.ContentLength != 0 && FeatureAccess.Get<IHttpRequestBodyDetectionFeature>(context.Features)?.CanHaveBody != false;

    // Headers the request does not carry add nothing (and allocate nothing): a present empty header still differs
    // from an absent one, and naming one more header in the options leaves requests without it matching.
    private static void AppendHeaders(RequestFingerprintBuilder fingerprint, IHeaderDictionary headers, string[] fingerprintHeaders)
    {
        var contentType = headers.ContentType;
        if (contentType.Count > 0)
        {
            AppendMediaType(fingerprint, contentType.Count == 1 ? contentType[0] : contentType.ToString());
        }

        AppendHeader(fingerprint, IfMatchField, headers.IfMatch);
        AppendHeader(fingerprint, IfNoneMatchField, headers.IfNoneMatch);
        AppendHeader(fingerprint, IfModifiedSinceField, headers.IfModifiedSince);
        AppendHeader(fingerprint, IfUnmodifiedSinceField, headers.IfUnmodifiedSince);
        foreach (var name in fingerprintHeaders)
        {
            AppendHeader(fingerprint, name, headers[name]);
        }
    }

    private static void AppendMediaType(RequestFingerprintBuilder fingerprint, string? contentType)
    {
        var value = contentType.AsSpan();
        char[]? rented = null;
        Span<char> destination = value.Length <= StackMediaTypeLimit
            ? stackalloc char[StackMediaTypeLimit]
            : rented = ArrayPool<char>.Shared.Rent(value.Length);
        try
        {
            fingerprint.AppendHeader(ContentTypeField, destination[..FingerprintMediaType.Normalize(value, destination)]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    // Each value trimmed of optional whitespace; a header sent as several fields is one list, joined as HTTP joins it.
    private static void AppendHeader(RequestFingerprintBuilder fingerprint, string name, StringValues values)
    {
        switch (values.Count)
        {
            case 0:
                return;
            case 1:
                fingerprint.AppendHeader(name, values[0].AsSpan().Trim(" \t"));
                return;
            default:
                fingerprint.AppendHeader(name, string.Join(", ", values.Select(static value => value.AsSpan().Trim(" \t").ToString())));
                return;
        }
    }

    // Read to its end, not to its Content-Length: middleware outside that replaced the body (request decompression)
    // leaves the client's Content-Length, and the body it reads is longer. Room for one byte past the declared length
    // tells, without growing the buffer for a body exactly as long as declared. A body that turns out longer than the
    // pool's limit goes, with what was read of it, through request buffering as any large body does: a small compressed
    // body must not make the pooled buffer grow to what it decompresses to.
    private static async ValueTask BufferSmallBodyAsync(HttpContext context, int length, RequestFingerprintBuilder fingerprint)
    {
        var (buffer, read, whole) = await ReadBodyAsync(context, initialSize: length + 1, limit: PooledBodyLimit);
        if (!whole)
        {
            await BufferLargeBodyAsync(context, fingerprint, new PrefixedReadStream(buffer, read, context.Request.Body));
            return;
        }

        fingerprint.AppendBody(buffer.AsSpan(0, read));
        BufferedRequestBody.Use(context, buffer, read);
    }

    /// <summary>
    /// Reads the request body into an array rented from the shared pool, first of <paramref name="initialSize"/> bytes,
    /// then twice as large each time it is full, to its end or until more than <paramref name="limit"/> bytes were read
    /// (then <c>Whole</c> is false and the rest of the body is still to be read); the caller owns the array.
    /// </summary>
    private static async ValueTask<(byte[] Buffer, int Length, bool Whole)> ReadBodyAsync(HttpContext context, int initialSize, int limit)
    {
        var request = context.Request;
        var buffer = ArrayPool<byte>.Shared.Rent(initialSize);
        var read = 0;
        try
        {
            int count;
            while ((count = await request.Body.ReadAsync(buffer.AsMemory(read), context.RequestAborted)) > 0)
            {
                read += count;
                if (read == buffer.Length)
                {
                    if (read > limit)
                    {
                        return (buffer, read, false);
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(checked(buffer.Length * 2));
                    buffer.AsSpan(0, read).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        return (buffer, read, true);
    }

    // Filtering needs the whole JSON value. A body that fits the pooled limit is read into one pooled array and filtered
    // from it, as any small body is held; a longer one goes through request buffering (memory, then a temporary file)
    // like any large body, and is filtered from there in pooled windows of at most PooledBodyLimit bytes: its size
    // never decides how much pooled memory a request holds. Both write the same filtered bytes for the same body.
    private static async ValueTask BufferJsonBodyAsync(HttpContext context, RequestFingerprintBuilder fingerprint, JsonMemberPaths excluded)
    {
        var request = context.Request;
        if (request.ContentLength > PooledBodyLimit)
        {
            await BufferLargeJsonBodyAsync(context, fingerprint, excluded);
            return;
        }

        var (buffer, read, whole) = await ReadBodyAsync(
            context, request.ContentLength is long length ? (int)length + 1 : BodyChunkSize, limit: PooledBodyLimit);

        // The array may hold the whole body and still more than the pooled limit (up to twice it, a body sent without
        // Content-Length or longer than declared): such a body is filtered as one declared that long, or its fingerprint
        // would depend on how it was framed (a token longer than the window is filtered here, hashed as sent there).
        if (!whole || read > PooledBodyLimit)
        {
            await BufferLargeJsonBodyAsync(context, fingerprint, excluded, new PrefixedReadStream(buffer, read, request.Body));
            return;
        }

        BufferedRequestBody.Use(context, buffer, read);
        var body = buffer.AsSpan(0, read);
        var filtered = new ArrayBufferWriter<byte>(Math.Max(read, 1));
        if (excluded.TryFilter(body, filtered))
        {
            fingerprint.AppendHeader(ExcludedJsonMembersField, excluded.Description);
            fingerprint.AppendBody(filtered.WrittenSpan);
        }
        else
        {
            fingerprint.AppendBody(body);
        }
    }

    // Two passes over the buffered body: the first (which also buffers it) finds whether it filters, since the filtered
    // fingerprint starts with a field the one of a body as sent does not have; the second hashes the filtered bytes as
    // they are written, or the body as sent. A token longer than the window (PooledBodyLimit) fingerprints the body as
    // sent, as one that is not JSON.
    private static async ValueTask BufferLargeJsonBodyAsync(
        HttpContext context, RequestFingerprintBuilder fingerprint, JsonMemberPaths excluded, PrefixedReadStream? readSoFar = null)
    {
        var request = context.Request;
        if (readSoFar is not null)
        {
            request.Body = readSoFar;
        }

        request.EnableBuffering();
        bool filters;
        try
        {
            using (var discard = new FingerprintBodyWriter(null))
            {
                filters = await excluded.TryFilterAsync(request.Body, discard, PooledBodyLimit, context.RequestAborted);
            }

            // A body that does not filter may be left part-read: request buffering takes the rest now.
            await request.Body.DrainAsync(context.RequestAborted);
        }
        finally
        {
            // Read to its end (or failed): request buffering holds the whole body now, and never reads it again.
            readSoFar?.Dispose();
        }

        request.Body.Position = 0;
        if (filters)
        {
            fingerprint.AppendHeader(ExcludedJsonMembersField, excluded.Description);
            using var hashed = new FingerprintBodyWriter(fingerprint);
            if (!await excluded.TryFilterAsync(request.Body, hashed, PooledBodyLimit, context.RequestAborted))
            {
                throw new InvalidOperationException("The buffered request body filtered once and not the second time; the request body changed while it was read.");
            }
        }
        else
        {
            var chunk = ArrayPool<byte>.Shared.Rent(BodyChunkSize);
            try
            {
                int read;
                while ((read = await request.Body.ReadAsync(chunk.AsMemory(0, BodyChunkSize), context.RequestAborted)) > 0)
                {
                    fingerprint.AppendBody(chunk.AsSpan(0, read));
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }
        }

        request.Body.Position = 0;
    }

    /// <summary>
    /// Buffers the body through ASP.NET Core's request buffering (memory, then a temporary file), hashing it on the way,
    /// and rewinds it for the handler. <paramref name="readSoFar"/>: the body when its first bytes were already read.
    /// </summary>
    private static async ValueTask BufferLargeBodyAsync(HttpContext context, RequestFingerprintBuilder fingerprint, PrefixedReadStream? readSoFar = null)
    {
        var request = context.Request;
        if (readSoFar is not null)
        {
            request.Body = readSoFar;
        }

        request.EnableBuffering();
        var buffer = ArrayPool<byte>.Shared.Rent(BodyChunkSize);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(buffer.AsMemory(0, BodyChunkSize), context.RequestAborted)) > 0)
            {
                fingerprint.AppendBody(buffer.AsSpan(0, read));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);

            // Read to its end (or failed): request buffering holds the whole body now, and never reads it again.
            readSoFar?.Dispose();
        }

        request.Body.Position = 0;
    }
}
