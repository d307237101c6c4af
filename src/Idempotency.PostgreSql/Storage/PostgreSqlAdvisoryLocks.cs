using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Idempotency.PostgreSql;

/// <summary>Stable 64-bit keys for <c>pg_advisory_xact_lock</c>, derived from names so that every instance agrees.</summary>
internal static class PostgreSqlAdvisoryLocks
{
    // Keys up to this many UTF-8 bytes (with the purpose) are hashed from the stack; longer ones from a pooled array.
    private const int StackBufferSize = 512;

    /// <summary>The first 8 bytes of SHA-256 over "<paramref name="purpose"/>:<paramref name="name"/>": stable across processes and versions.</summary>
    public static long For(string purpose, string name) => For(Prefix(purpose), name);

    /// <summary>The UTF-8 bytes of "<paramref name="purpose"/>:", for <see cref="For(ReadOnlySpan{byte}, string)"/>.</summary>
    public static byte[] Prefix(string purpose) => Encoding.UTF8.GetBytes(purpose + ":");

    /// <summary>
    /// The same key as <see cref="For(string, string)"/>, from the purpose's <see cref="Prefix"/>, without allocating: a key
    /// per request on the hot path. The purpose ends with an ASCII colon, so encoding the two parts apart gives the very
    /// bytes that encoding their concatenation gives.
    /// </summary>
    public static long For(ReadOnlySpan<byte> prefix, string name)
    {
        var length = prefix.Length + Encoding.UTF8.GetMaxByteCount(name.Length);
        byte[]? rented = null;
        var buffer = length <= StackBufferSize ? stackalloc byte[StackBufferSize] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            prefix.CopyTo(buffer);
            var written = prefix.Length + Encoding.UTF8.GetBytes(name, buffer[prefix.Length..]);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer[..written], hash);
            return BinaryPrimitives.ReadInt64BigEndian(hash);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
