using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Idempotency.PostgreSql;

/// <summary>Stable 64-bit keys for <c>pg_advisory_xact_lock</c>, derived from names so that every instance agrees.</summary>
internal static class PostgreSqlAdvisoryLocks
{
    /// <summary>The first 8 bytes of SHA-256 over "<paramref name="purpose"/>:<paramref name="name"/>": stable across processes and versions.</summary>
    public static long For(string purpose, string name)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(purpose + ":" + name), hash);
        return BinaryPrimitives.ReadInt64BigEndian(hash);
    }
}
