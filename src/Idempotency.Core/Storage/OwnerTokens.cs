using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;

namespace Idempotency;

/// <summary>Creates the owner tokens that fence claims.</summary>
/// <remarks>
/// <para>
/// A token only has to be unique among every claimer of a key, in every process, for as long as a lease lasts; it
/// never leaves the server and the store. 64 random bits drawn once per process, followed by a counter, give that
/// without a call into the operating system's random source on every request.
/// </para>
/// <para>
/// Each thread takes its counters from a block of <see cref="CountersPerBlock"/> that it reserves from the process's
/// counter, so requests on different cores do not contend for one cache line on every claim; blocks never overlap,
/// so no two tokens of the process are equal. Tokens of one thread increase; across threads they need not.
/// </para>
/// </remarks>
internal static class OwnerTokens
{
    /// <summary>How many counters a thread reserves at a time.</summary>
    internal const int CountersPerBlock = 1024;

    private static readonly string s_processPrefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)) + "-";
    private static long s_reserved;

    [ThreadStatic]
    private static long t_next;

    [ThreadStatic]
    private static long t_blockEnd;

    /// <summary>The process's random prefix, a dash, then the counter in lowercase hex without leading zeros.</summary>
    public static string Create()
    {
        var counter = t_next;
        if (counter == t_blockEnd)
        {
            var last = Interlocked.Add(ref s_reserved, CountersPerBlock);
            counter = last - CountersPerBlock + 1;
            t_blockEnd = last + 1;
        }

        t_next = counter + 1;
        var digits = (67 - BitOperations.LeadingZeroCount((ulong)counter | 1)) / 4;
        return string.Create(s_processPrefix.Length + digits, counter, static (token, value) =>
        {
            s_processPrefix.CopyTo(token);
            value.TryFormat(token[s_processPrefix.Length..], out _, "x", CultureInfo.InvariantCulture);
        });
    }
}
