using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Idempotency;

/// <summary>
/// Computes a SHA-256 fingerprint of a request incrementally: fields are length-prefixed so that no two different
/// requests hash the same input, and the body is hashed chunk by chunk as it is read, never copied.
/// </summary>
/// <remarks>
/// Small fields are gathered in a buffer and hashed together, and the hash object is reused by the next builder on
/// the same thread, so fingerprinting a typical request costs a few calls into the platform's SHA-256.
/// </remarks>
public sealed class RequestFingerprintBuilder : IDisposable
{
    /// <summary>The size of a fingerprint in bytes (SHA-256).</summary>
    public const int FingerprintSize = 32;

    private const int StagingSize = 512;

    [ThreadStatic]
    private static HashState? t_cachedState;

    private HashState? _state;
    private int _staged;
    private long _bodyLength;
    private bool _dirty;

    /// <summary>Initializes a builder.</summary>
    public RequestFingerprintBuilder()
    {
        _state = t_cachedState ?? new HashState();
        t_cachedState = null;
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

        var byteCount = Encoding.UTF8.GetByteCount(value);
        Span<byte> prefix = [1, 0, 0, 0, 0];
        BinaryPrimitives.WriteInt32BigEndian(prefix[1..], byteCount);
        Stage(prefix);
        if (byteCount <= StagingSize - _staged)
        {
            _staged += Encoding.UTF8.GetBytes(value, State.Staging.AsSpan(_staged));
            return;
        }

        FlushStaging();
        Hash.AppendData(Encoding.UTF8.GetBytes(value));
    }

    /// <summary>Adds the next chunk of the body. Call once per chunk, in order.</summary>
    /// <param name="chunk">Bytes of the body.</param>
    public void AppendBody(ReadOnlySpan<byte> chunk)
    {
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
