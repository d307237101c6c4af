using System.Data;
using System.Diagnostics;
using System.Globalization;
using Dapper;
using Idempotency.PostgreSql;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Idempotency.Benchmarks;

/// <summary>
/// The ledger insert of the end-to-end benchmark without HTTP, so that the unit of work's own cost shows apart from the
/// middleware's: 32 concurrent loops for a few seconds each, measured by the process's CPU time and allocations per
/// operation, in alternating rounds of three operations. <c>hand-written</c>: BEGIN + INSERT, COMMIT (2 round trips, as
/// <c>/ledger/manual</c>). <c>unit of work</c>: <see cref="PostgreSqlIdempotencyUnitOfWorkFactory"/>'s begin, claim,
/// the same INSERT, complete (3 round trips). <c>Npgsql alone</c>: the unit of work's very statements, lock key and
/// batches written directly against Npgsql, without the library: the floor for 3 round trips with these statements.
/// Run with <c>pg-unit-of-work "connection string" [seconds per measurement] [rounds]</c>
/// (scripts/benchmark-pg-unit-of-work.sh starts a throw-away PostgreSQL for it).
/// </summary>
internal static class PostgreSqlUnitOfWorkProbe
{
    private const int Concurrency = 32;
    private const string InsertEntry = "INSERT INTO bench_ledger (account, amount) VALUES (1, @Amount) RETURNING id";

    public static async Task RunAsync(string[] args)
    {
        var connectionString = args.Length > 0 ? args[0] : throw new InvalidOperationException("pg-unit-of-work \"connection string\" [seconds] [rounds]");
        var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        var dataSource = NpgsqlDataSource.Create(connectionString);
        builder.Services.AddSingleton(dataSource);
        builder.Services.AddIdempotency().AddPostgreSqlStore(o => o.CreateSchemaOnStartup = true);
        using var host = builder.Build();
        await host.StartAsync();
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS bench_ledger (id bigserial PRIMARY KEY, account bigint NOT NULL, amount bigint NOT NULL)");
        }

        var ledger = new Ledger(dataSource, host.Services.GetRequiredService<PostgreSqlIdempotencyUnitOfWorkFactory>());
        (string Name, Func<Task> Operation)[] operations =
        [
            ("hand-written", ledger.HandWrittenAsync),
            ("unit of work", ledger.UnitOfWorkAsync),
            ("Npgsql alone", ledger.NpgsqlAloneAsync),
        ];
        foreach (var (_, operation) in operations)
        {
            await MeasureAsync(operation, Math.Max(seconds, 8)); // warm: tier-up, the pool, prepared statements
        }

        Console.WriteLine($"{"round",5} {"operation",-14} {"CPU us/op",10} {"alloc B/op",10} {"ops/s",8} {"hand-written ÷ it",18}");
        var ratios = operations.ToDictionary(o => o.Name, _ => new List<double>());
        for (var round = 1; round <= rounds; round++)
        {
            double handWritten = 0;
            foreach (var (name, operation) in operations)
            {
                var (cpu, allocated, perSecond) = await MeasureAsync(operation, seconds);
                handWritten = name == "hand-written" ? cpu : handWritten;
                ratios[name].Add(handWritten / cpu);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{round,5} {name,-14} {cpu,10:0.0} {allocated,10:0} {perSecond,8:0} {handWritten / cpu,18:0.000}"));
            }
        }

        foreach (var (name, values) in ratios)
        {
            values.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median hand-written ÷ {name}: {values[values.Count / 2]:0.000}"));
        }

        await host.StopAsync();
    }

    private static async Task<(double CpuMicroseconds, double AllocatedBytes, double PerSecond)> MeasureAsync(Func<Task> operation, int seconds)
    {
        long count = 0;
        var process = Process.GetCurrentProcess();
        var allocated = GC.GetTotalAllocatedBytes(precise: false);
        var cpu = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var end = TimeSpan.FromSeconds(seconds);
        var loops = Enumerable.Range(0, Concurrency).Select(_ => Task.Run(async () =>
        {
            while (wall.Elapsed < end)
            {
                await operation();
                Interlocked.Increment(ref count);
            }
        }));
        await Task.WhenAll(loops);
        process.Refresh();
        return ((process.TotalProcessorTime - cpu).TotalMicroseconds / count, (GC.GetTotalAllocatedBytes(precise: false) - allocated) / (double)count, count / wall.Elapsed.TotalSeconds);
    }

    private sealed class Ledger(NpgsqlDataSource dataSource, PostgreSqlIdempotencyUnitOfWorkFactory factory)
    {
        private static readonly byte[] s_fingerprint = new byte[32];
        private static readonly byte[] s_record = new byte[160];
        private static readonly TimeSpan s_lease = TimeSpan.FromSeconds(30);
        private static readonly TimeSpan s_retention = TimeSpan.FromHours(1);
        private readonly PostgreSqlStoreSql _sql = new("public", "idempotency_records");
        private readonly string _prefix = Guid.NewGuid().ToString("N");
        private long _counter;

        public async Task HandWrittenAsync()
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await connection.ExecuteScalarAsync<long>(InsertEntry, new { Amount = 10_000L }, transaction);
            await transaction.CommitAsync();
        }

        public async Task UnitOfWorkAsync()
        {
            var key = NewKey();
            await using var unitOfWork = await factory.BeginAsync(IsolationLevel.ReadCommitted);
            var claim = await unitOfWork.ClaimAsync(new IdempotencyClaimRequest(key, s_fingerprint, "owner", s_lease), default);
            if (claim.Status != ClaimStatus.Claimed)
            {
                throw new InvalidOperationException($"Claim: {claim.Status}");
            }

            await unitOfWork.Connection.ExecuteScalarAsync<long>(InsertEntry, new { Amount = 10_000L }, unitOfWork.Transaction);
            var completion = await unitOfWork.CompleteAsync(new IdempotencyCompleteRequest(key, "owner", s_record, s_retention), default);
            if (completion != CompletionStatus.Completed)
            {
                throw new InvalidOperationException($"Completion: {completion}");
            }
        }

        // The unit of work's statements, lock key and batches, without the library around them.
        public async Task NpgsqlAloneAsync()
        {
            var key = NewKey();
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted);
            await using (var claim = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands =
                {
                    new NpgsqlBatchCommand(_sql.TransactionalLock) { Parameters = { new NpgsqlParameter<long> { TypedValue = PostgreSqlAdvisoryLocks.For(_sql.LockKeyPrefix, key) } } },
                    new NpgsqlBatchCommand(_sql.TransactionalRead)
                    {
                        Parameters =
                        {
                            new NpgsqlParameter<string> { TypedValue = key },
                            new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = s_fingerprint, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea },
                        },
                    },
                },
            })
            {
                await claim.PrepareAsync();
                await using var reader = await claim.ExecuteReaderAsync();
                await reader.ReadAsync();
                var locked = reader.GetBoolean(0);
                await reader.NextResultAsync();
                if (!locked || await reader.ReadAsync())
                {
                    throw new InvalidOperationException("The key is held or has a record.");
                }
            }

            await connection.ExecuteScalarAsync<long>(InsertEntry, new { Amount = 10_000L }, transaction);
            await using var complete = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands =
                {
                    new NpgsqlBatchCommand(_sql.TransactionalComplete)
                    {
                        Parameters =
                        {
                            new NpgsqlParameter<string> { TypedValue = key },
                            new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = s_fingerprint, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea },
                            new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = s_record, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea },
                            new NpgsqlParameter<double> { TypedValue = s_retention.TotalMilliseconds },
                        },
                    },
                    new NpgsqlBatchCommand("COMMIT"),
                },
            };
            await complete.PrepareAsync();
            await complete.ExecuteNonQueryAsync();
        }

        private string NewKey() => string.Create(CultureInfo.InvariantCulture, $"{_prefix}-{Interlocked.Increment(ref _counter)}");
    }
}
