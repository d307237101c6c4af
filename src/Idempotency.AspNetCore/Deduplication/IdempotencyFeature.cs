using System.Security.Cryptography;
using System.Text;

namespace Idempotency.AspNetCore.Deduplication;

internal sealed class IdempotencyFeature(string key, string scope, string storageKey) : IIdempotencyFeature
{
    public string Key { get; } = key;

    public string Scope { get; } = scope;

    public string StorageKey { get; } = storageKey;

    public string DeriveKey(string purpose)
    {
        ArgumentNullException.ThrowIfNull(purpose);

        // The storage key ends with the client key, which never contains NUL, so NUL unambiguously starts the purpose.
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(StorageKey + "\0" + purpose)));
    }
}
