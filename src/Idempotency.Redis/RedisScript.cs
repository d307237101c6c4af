using System.Security.Cryptography;
using System.Text;

namespace Idempotency.Redis;

/// <summary>One of the store's Lua scripts: its text, and the SHA-1 that Redis knows it by once loaded.</summary>
internal sealed class RedisScript
{
    internal RedisScript(string name)
    {
        Name = name;
        var resource = $"Idempotency.Redis.Scripts.{name}.lua";
        using var stream = typeof(RedisScript).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The embedded script '{resource}' is missing from {typeof(RedisScript).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        Text = reader.ReadToEnd();

        // Redis names a script by the SHA-1 of its text; this is an identifier, not a security measure.
        Hash = SHA1.HashData(Encoding.UTF8.GetBytes(Text));
        HexHash = Convert.ToHexStringLower(Hash);
    }

    public static RedisScript Claim { get; } = new("claim");

    public static RedisScript Complete { get; } = new("complete");

    public static RedisScript Release { get; } = new("release");

    public static IReadOnlyList<RedisScript> All { get; } = [Claim, Complete, Release];

    public string Name { get; }

    public string Text { get; }

    public byte[] Hash { get; }

    /// <summary>Gets the SHA-1 as <c>EVALSHA</c> takes it when sent as a raw command: 40 lowercase hex digits.</summary>
    public string HexHash { get; }
}
