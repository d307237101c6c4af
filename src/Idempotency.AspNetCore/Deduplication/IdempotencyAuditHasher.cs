using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// The keyed hashes that audit events carry instead of raw keys and scopes: the first 8 bytes of
/// HMAC-SHA256(secret, domain || UTF-8 value), in lowercase hex, where domain is <c>k</c> for a key and <c>s</c> for a
/// scope. Whoever holds <see cref="IdempotencyOptions.AuditHashSecret"/> can recompute the hash of a key a client
/// reports; without it the hash reveals nothing.
/// </summary>
internal sealed class IdempotencyAuditHasher
{
    /// <summary>What audit events show where there is nothing to hash (a request without a valid key, say).</summary>
    public const string None = "-";

    private const int HashBytes = 8;
    private const int StackLimit = 512;

    private readonly byte[] _secret;

    public IdempotencyAuditHasher(string? secret)
    {
        _secret = secret is null ? RandomNumberGenerator.GetBytes(32) : Encoding.UTF8.GetBytes(secret);
        IsRandomSecret = secret is null;
    }

    /// <summary>Gets whether the secret was made for this process, so hashes cannot be recomputed elsewhere.</summary>
    public bool IsRandomSecret { get; }

    public string HashKey(string? key) => key is null ? None : Hash((byte)'k', key);

    public string HashScope(string? scope) => scope is null ? None : Hash((byte)'s', scope);

    private string Hash(byte domain, string value)
    {
        var length = 1 + Encoding.UTF8.GetByteCount(value);
        byte[]? rented = null;
        var input = length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            input[0] = domain;
            Encoding.UTF8.GetBytes(value, input[1..]);
            Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
            HMACSHA256.HashData(_secret, input[..length], mac);
            return Convert.ToHexStringLower(mac[..HashBytes]);
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
