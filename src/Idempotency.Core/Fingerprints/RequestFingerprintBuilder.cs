using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Idempotency;

/// <summary>
/// Computes a SHA-256 fingerprint of a request incrementally: fields are length-prefixed so that no two different
/// requests hash the same input, and the body is hashed chunk by chunk as it is read, never copied.
/// </summary>
/// <remarks>
/// <para>
/// Small fields are gathered in a buffer and hashed together, and the hash object is reused by the next builder on
/// the same thread, so fingerprinting a typical request costs a few calls into the platform's SHA-256.
/// </para>
/// <para>
/// This type is the one place that knows how a fingerprint is laid out. An HTTP request's fingerprint is versioned,
/// because stores keep fingerprints for as long as they keep responses: version 2 (<see cref="ForHttpRequest"/>)
/// hashes a version tag, the request line, the headers that make two requests different, then the body; version 1
/// (<see cref="ForHttpRequestV1"/>), written by releases before version 2, hashed the request line and the body
/// only. Both are 32 bytes and can never be equal: the first hashed byte of a version 2 input is the tag's 2, the
/// first of a version 1 input is a field's 0 or 1.
/// </para>
/// </remarks>
public sealed class RequestFingerprintBuilder : IDisposable
{
    /// <summary>The size of a fingerprint in bytes (SHA-256).</summary>
    public const int FingerprintSize = 32;

    private const int StagingSize = 512;

    [ThreadStatic]
    private static HashState? t_cachedState;

    private readonly Layout _layout;
    private HashState? _state;
    private int _staged;
    private long _bodyLength;
    private bool _bodyStarted;
    private bool _dirty;

    /// <summary>Initializes a builder of an unversioned fingerprint: fields and a body, with nothing hashed first.</summary>
    public RequestFingerprintBuilder()
    {
        _state = t_cachedState ?? new HashState();
        t_cachedState = null;
    }

    private RequestFingerprintBuilder(Layout layout)
        : this()
    {
        _layout = layout;
    }

    private enum Layout : byte
    {
        Plain,
        HttpV1,
        HttpV2,
    }

    // Hashed first in a version 2 HTTP fingerprint. Never change it: stored fingerprints depend on it.
    private static ReadOnlySpan<byte> HttpV2Tag => "\u0002idempotency/http-request"u8;

    /// <summary>
    /// Starts the version 2 fingerprint of an HTTP request: the version tag, then the method, the endpoint's route
    /// pattern, the path base, the path and the query. Add the headers that distinguish requests with
    /// <see cref="AppendHeader"/>, then the body with <see cref="AppendBody"/>.
    /// </summary>
    /// <param name="method">The request method.</param>
    /// <param name="route">The endpoint's route pattern or display name.</param>
    /// <param name="pathBase">The path base.</param>
    /// <param name="path">The path.</param>
    /// <param name="query">The query string.</param>
    /// <returns>A builder that owns the thread's hash until it is disposed.</returns>
    public static RequestFingerprintBuilder ForHttpRequest(string method, string? route, string? pathBase, string? path, string? query)
    {
        ArgumentNullException.ThrowIfNull(method);
        var builder = new RequestFingerprintBuilder(Layout.HttpV2);
        builder.Stage(HttpV2Tag);
        builder.AppendRequestLine(method, route, pathBase, path, query);
        return builder;
    }

    /// <summary>
    /// Starts the version 1 fingerprint of an HTTP request, exactly as releases before version 2 computed it: the
    /// method, the endpoint's route pattern, the path base, the path and the query, then only the body. It takes no
    /// headers.
    /// </summary>
    /// <remarks>
    /// The middleware computes it only when a claim with the version 2 fingerprint answers a mismatch, so a retry of a
    /// request recorded before the upgrade still finds its record. That fallback, and this method, can go once every
    /// version 1 record has expired: <c>IdempotencyOptions.ResponseRetention</c> after version 2 was deployed to every
    /// instance that shares the store.
    /// </remarks>
    /// <param name="method">The request method.</param>
    /// <param name="route">The endpoint's route pattern or display name.</param>
    /// <param name="pathBase">The path base.</param>
    /// <param name="path">The path.</param>
    /// <param name="query">The query string.</param>
    /// <returns>A builder that owns the thread's hash until it is disposed.</returns>
    public static RequestFingerprintBuilder ForHttpRequestV1(string method, string? route, string? pathBase, string? path, string? query)
    {
        ArgumentNullException.ThrowIfNull(method);
        var builder = new RequestFingerprintBuilder(Layout.HttpV1);
        builder.AppendRequestLine(method, route, pathBase, path, query);
        return builder;
    }

    /// <summary>Adds a named field (method, route, path, query...) to the fingerprint.</summary>
    /// <param name="value">The field's value; <see langword="null"/> is hashed differently from empty.</param>
    public void AppendField(string? value)
    {
        if (value is null)
        {
            Stage([0]);
            return;
        }

        AppendText(value, lowercaseAscii: false);
    }

    /// <summary>
    /// Adds a header the request carries to a version 2 HTTP fingerprint, before the body. Call it only for headers
    /// the request has: an absent header adds nothing, so an empty value differs from an absent one, and covering one
    /// more header leaves the fingerprint of requests without it unchanged. Add headers in the same order every time.
    /// </summary>
    /// <param name="name">The header's name; compared case-insensitively (ASCII).</param>
    /// <param name="value">The header's value, as the caller normalised it.</param>
    /// <exception cref="InvalidOperationException">
    /// The builder was not started by <see cref="ForHttpRequest"/>, or the body has been added already.
    /// </exception>
    public void AppendHeader(string name, ReadOnlySpan<char> value)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_layout != Layout.HttpV2)
        {
            throw new InvalidOperationException("Only a fingerprint started by RequestFingerprintBuilder.ForHttpRequest covers headers.");
        }

        if (_bodyStarted)
        {
            throw new InvalidOperationException("Headers are added to a fingerprint before its body.");
        }

        AppendText(name, lowercaseAscii: true);
        AppendText(value, lowercaseAscii: false);
    }

    /// <summary>Adds the next chunk of the body. Call once per chunk, in order.</summary>
    /// <param name="chunk">Bytes of the body.</param>
    public void AppendBody(ReadOnlySpan<byte> chunk)
    {
        _bodyStarted = true;
        Stage(chunk);
        _bodyLength += chunk.Length;
    }

    /// <summary>Finishes the fingerprint. The builder cannot be used afterwards.</summary>
    /// <returns>The 32-byte fingerprint.</returns>
    public byte[] Finish()
    {
        // The body length closes the input so "field + body" can never equal "longer field + shorter body".
        Span<byte> trailer = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(trailer, _bodyLength);
        Stage(trailer);
        FlushStaging();
        _dirty = false;
        return Hash.GetHashAndReset();
    }

    /// <summary>Computes the fingerprint of a payload held in memory.</summary>
    /// <param name="payload">The whole payload.</param>
    /// <returns>The 32-byte fingerprint.</returns>
    public static byte[] Compute(ReadOnlySpan<byte> payload)
    {
        using var builder = new RequestFingerprintBuilder();
        builder.AppendBody(payload);
        return builder.Finish();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_state is null)
        {
            return;
        }

        if (_dirty)
        {
            _state.Hash.GetHashAndReset(); // leave the hash clean for the next builder on this thread
        }

        if (t_cachedState is null)
        {
            t_cachedState = _state;
        }
        else
        {
            _state.Hash.Dispose();
        }

        _state = null;
    }

    private HashState State => _state ?? throw new ObjectDisposedException(nameof(RequestFingerprintBuilder));

    private IncrementalHash Hash => State.Hash;

    private void AppendRequestLine(string method, string? route, string? pathBase, string? path, string? query)
    {
        AppendField(method);
        AppendField(route);
        AppendField(pathBase);
        AppendField(path);
        AppendField(query);
    }

    // A present field: tag 1, its UTF-8 length (big-endian), its UTF-8 bytes.
    private void AppendText(ReadOnlySpan<char> value, bool lowercaseAscii)
    {
        var byteCount = Encoding.UTF8.GetByteCount(value);
        Span<byte> prefix = [1, 0, 0, 0, 0];
        BinaryPrimitives.WriteInt32BigEndian(prefix[1..], byteCount);
        Stage(prefix);
        if (byteCount <= StagingSize - _staged)
        {
            var written = Encoding.UTF8.GetBytes(value, State.Staging.AsSpan(_staged));
            if (lowercaseAscii)
            {
                LowercaseAscii(State.Staging.AsSpan(_staged, written));
            }

            _staged += written;
            return;
        }

        FlushStaging();
        var rented = ArrayPool<byte>.Shared.Rent(byteCount);
        try
        {
            var bytes = rented.AsSpan(0, Encoding.UTF8.GetBytes(value, rented));
            if (lowercaseAscii)
            {
                LowercaseAscii(bytes);
            }

            Hash.AppendData(bytes);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static void LowercaseAscii(Span<byte> bytes)
    {
        foreach (ref var b in bytes)
        {
            if (b is >= (byte)'A' and <= (byte)'Z')
            {
                b |= 0x20;
            }
        }
    }

    private void Stage(ReadOnlySpan<byte> data)
    {
        _dirty = true;
        if (data.Length > StagingSize - _staged)
        {
            FlushStaging();
            if (data.Length > StagingSize)
            {
                Hash.AppendData(data);
                return;
            }
        }

        data.CopyTo(State.Staging.AsSpan(_staged));
        _staged += data.Length;
    }

    private void FlushStaging()
    {
        if (_staged > 0)
        {
            Hash.AppendData(State.Staging.AsSpan(0, _staged));
            _staged = 0;
        }
    }

    /// <summary>A SHA-256 hash and its staging buffer, reused by the builders of one thread.</summary>
    private sealed class HashState
    {
        public IncrementalHash Hash { get; } = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public byte[] Staging { get; } = new byte[StagingSize];
    }
}
