using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;

namespace Idempotency;

/// <summary>Creates the owner tokens that fence claims.</summary>
/// <remarks>
/// A token only has to be unique among every claimer of a key, in every process, for as long as a lease lasts; it
/// never leaves the server and the store. 64 random bits drawn once per process, followed by a counter, give that
/// without a call into the operating system's random source on every request.
/// </remarks>
internal static class OwnerTokens
{
    private static readonly string s_processPrefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)) + "-";
    private static long s_counter;

    /// <summary>The process's random prefix, a dash, then the counter in lowercase hex without leading zeros.</summary>
    public static string Create()
    {
        var counter = Interlocked.Increment(ref s_counter);
        var digits = (67 - BitOperations.LeadingZeroCount((ulong)counter | 1)) / 4;
        return string.Create(s_processPrefix.Length + digits, counter, static (token, value) =>
        {
            s_processPrefix.CopyTo(token);
            value.TryFormat(token[s_processPrefix.Length..], out _, "x", CultureInfo.InvariantCulture);
        });
    }
}
