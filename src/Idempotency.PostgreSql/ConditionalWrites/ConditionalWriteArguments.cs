namespace Idempotency.PostgreSql;

/// <summary>The argument checks of the conditional-write stores, made at each entry point before any connection is opened.</summary>
internal static class ConditionalWriteArguments
{
    public static void Id(string id, string parameterName)
    {
        ArgumentException.ThrowIfNullOrEmpty(id, parameterName);

        // PostgreSQL text cannot hold U+0000: refuse it here with a clear message rather than let the server reject
        // it mid-transaction, which would abort the caller's transaction.
        if (id.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("PostgreSQL text cannot hold the character U+0000; use an id without it.", parameterName);
        }
    }

    public static void Range(string stream, long fromSequence, int maxCount)
    {
        Id(stream, nameof(stream));
        ArgumentOutOfRangeException.ThrowIfLessThan(fromSequence, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
    }
}
