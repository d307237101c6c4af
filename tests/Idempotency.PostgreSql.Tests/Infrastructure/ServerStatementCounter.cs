using Dapper;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.Infrastructure;

/// <summary>
/// Counts the statements the server itself ran in one database (pg_stat_statements, reset before each operation), so
/// that a test can assert what an operation costs without trusting the code under test.
/// </summary>
/// <remarks>
/// Besides the operation's statements the server may see Npgsql's pool reset, once per reuse of a pooled connection:
/// <c>DISCARD ALL</c>, or, on a connection that holds prepared statements (which <c>DISCARD ALL</c> would drop), the
/// list of resets that keeps them. Npgsql writes the reset in front of the next command in the same network write, so
/// it costs no round trip; it is left out of the count, and must come at most once.
/// </remarks>
public sealed class ServerStatementCounter : IAsyncDisposable
{
    private static readonly HashSet<string> s_poolReset =
    [
        "DISCARD ALL",
        "CLOSE ALL", "UNLISTEN *", "SELECT pg_advisory_unlock_all()", "DISCARD SEQUENCES", "DISCARD TEMP",
        "SET SESSION AUTHORIZATION DEFAULT", "RESET ALL",
    ];

    private readonly NpgsqlDataSource _admin;
    private readonly long _databaseId;

    private ServerStatementCounter(NpgsqlDataSource admin, long databaseId)
    {
        _admin = admin;
        _databaseId = databaseId;
    }

    /// <summary>Counts statements in <paramref name="database"/>, connecting as the cluster's administrator.</summary>
    public static async Task<ServerStatementCounter> CreateAsync(PostgreSqlServer server, string database)
    {
        var admin = NpgsqlDataSource.Create(server.ConnectionString("postgres"));
        await using var connection = await admin.OpenConnectionAsync();
        await connection.ExecuteAsync("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
        var databaseId = await connection.QuerySingleAsync<long>("SELECT oid::bigint FROM pg_database WHERE datname = @database", new { database });
        return new ServerStatementCounter(admin, databaseId);
    }

    /// <summary>
    /// Runs <paramref name="operation"/> and returns its result and the statements the server ran meanwhile, one entry
    /// per execution, ordered, without the pool reset.
    /// </summary>
    public async Task<(T Result, List<string> Statements)> CountAsync<T>(Func<Task<T>> operation)
    {
        await using var connection = await _admin.OpenConnectionAsync();
        await connection.ExecuteAsync("SELECT pg_stat_statements_reset(0, @dbid::oid, 0)", new { dbid = _databaseId });
        var result = await operation();
        var all = (await connection.QueryAsync<(string Query, long Calls)>(
            "SELECT query, calls FROM pg_stat_statements WHERE dbid = @dbid::oid", new { dbid = _databaseId })).ToList();
        Assert.InRange(all.Where(s => s.Query is "DISCARD ALL" or "RESET ALL").Sum(s => s.Calls), 0, 1);
        var statements = all
            .Where(s => !s_poolReset.Contains(s.Query))
            .SelectMany(s => Enumerable.Repeat(s.Query, (int)s.Calls))
            .Order(StringComparer.Ordinal)
            .ToList();
        return (result, statements);
    }

    /// <summary>The first word of <paramref name="statement"/>, upper case: <c>INSERT</c>, <c>WITH</c>, <c>COMMIT</c>...</summary>
    public static string Verb(string statement) => statement.TrimStart().Split([' ', '\n'], 2)[0].ToUpperInvariant();

    public ValueTask DisposeAsync() => _admin.DisposeAsync();
}
