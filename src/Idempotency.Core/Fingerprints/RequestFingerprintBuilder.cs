using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Idempotency;

/// <summary>
/// Computes a SHA-256 fingerprint of a request incrementally: fields are length-prefixed so that no two different
/// requests hash the same input, and the body is hashed chunk by chunk as it is read, never copied.
/// </summary>
public sealed class RequestFingerprintBuilder : IDisposable
{
    /// <summary>The size of a fingerprint in bytes (SHA-256).</summary>
    public const int FingerprintSize = 32;

    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _bodyLength;

    /// <summary>Adds a named field (method, route, path, query...) to the fingerprint.</summary>
    /// <param name="value">The field's value; <see langword="null"/> is hashed differently from empty.</param>
    public void AppendField(string? value)
    {
        Span<byte> prefix = stackalloc byte[5];
        if (value is null)
        {
            prefix[0] = 0;
            _hash.AppendData(prefix[..1]);
            return;
        }

        var byteCount = Encoding.UTF8.GetByteCount(value);
        prefix[0] = 1;
        BinaryPrimitives.WriteInt32BigEndian(prefix[1..], byteCount);
        _hash.AppendData(prefix);

        byte[]? rented = null;
        var buffer = byteCount <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(byteCount));
        try
        {
            var written = Encoding.UTF8.GetBytes(value, buffer);
            _hash.AppendData(buffer[..written]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Adds the next chunk of the body. Call once per chunk, in order.</summary>
    /// <param name="chunk">Bytes of the body.</param>
    public void AppendBody(ReadOnlySpan<byte> chunk)
    {
        _hash.AppendData(chunk);
        _bodyLength += chunk.Length;
    }

    /// <summary>Finishes the fingerprint. The builder cannot be used afterwards.</summary>
    /// <returns>The 32-byte fingerprint.</returns>
    public byte[] Finish()
    {
        // The body length closes the input so "field + body" can never equal "longer field + shorter body".
        Span<byte> trailer = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(trailer, _bodyLength);
        _hash.AppendData(trailer);
        return _hash.GetHashAndReset();
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
    public void Dispose() => _hash.Dispose();
}
