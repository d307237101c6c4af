using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Idempotency.Chaos.Tests.Ledger;

namespace Idempotency.Chaos.Tests.Infrastructure;

internal enum OperationKind
{
    Deposit,
    Withdrawal,
    Transfer,
}

/// <summary>One debit or credit the clients must get applied exactly once, whatever happens on the way.</summary>
internal sealed record LedgerOperation(string Id, OperationKind Kind, string Account, string? To, long Amount)
{
    public IReadOnlyList<LedgerLeg> Legs => Kind switch
    {
        OperationKind.Deposit => [new(Account, Amount)],
        OperationKind.Withdrawal => [new(Account, -Amount)],
        _ => [new(Account, -Amount), new(To!, Amount)],
    };

    /// <summary>A new message for the operation. A client sends one message per operation and lets its retry policy resend it.</summary>
    public HttpRequestMessage CreateRequest()
    {
        var (path, body) = Kind switch
        {
            OperationKind.Deposit => ($"accounts/{Account}/deposits", $"{{\"amount\":{Amount}}}"),
            OperationKind.Withdrawal => ($"accounts/{Account}/withdrawals", $"{{\"amount\":{Amount}}}"),
            _ => ("transfers", $"{{\"from\":\"{Account}\",\"to\":\"{To}\",\"amount\":{Amount}}}"),
        };
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative))
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        request.Headers.ConnectionClose = true;
        request.Headers.Add(ChaosLedgerApp.OperationHeader, Id);
        return request;
    }
}

/// <summary>How one operation ended for its client, after all its retries.</summary>
internal sealed record OperationOutcome(int? Status, bool Replayed, string? Error);

/// <summary>The outcome of every operation of a run.</summary>
internal sealed class WorkloadResult(IReadOnlyDictionary<string, OperationOutcome> outcomes, TimeSpan elapsed)
{
    public IReadOnlyDictionary<string, OperationOutcome> Outcomes { get; } = outcomes;

    public TimeSpan Elapsed { get; } = elapsed;

    public int Count(int status) => Outcomes.Values.Count(o => o.Status == status);

    /// <summary>The operations that did not end with 201, with what they ended with: shown when a run fails.</summary>
    public string Failures(int max = 10) => string.Join(
        Environment.NewLine,
        Outcomes.Where(o => o.Value.Status != 201).Take(max).Select(o => $"{o.Key}: {o.Value.Status?.ToString(CultureInfo.InvariantCulture) ?? o.Value.Error}"));
}

/// <summary>Seeded ledger workloads and a runner that plays them through concurrent clients.</summary>
internal static class Workload
{
    public static IReadOnlyList<LedgerOperation> Generate(int seed, int count, int accounts = 8)
    {
        var random = new Random(seed);
        var operations = new List<LedgerOperation>(count);
        for (var i = 0; i < count; i++)
        {
            var id = $"op-{seed}-{i:D6}";
            var account = $"acct-{random.Next(accounts)}";
            var amount = random.Next(1, 1_000);
            var roll = random.NextDouble();
            operations.Add(roll switch
            {
                < 0.4 => new LedgerOperation(id, OperationKind.Deposit, account, null, amount),
                < 0.75 => new LedgerOperation(id, OperationKind.Withdrawal, account, null, amount),
                _ => new LedgerOperation(id, OperationKind.Transfer, account, $"acct-{(int.Parse(account[5..], CultureInfo.InvariantCulture) + 1 + random.Next(accounts - 1)) % accounts}", amount),
            });
        }

        return operations;
    }

    public static IReadOnlyDictionary<string, long> ExpectedBalances(IEnumerable<LedgerOperation> operations)
    {
        var balances = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var leg in operations.SelectMany(o => o.Legs))
        {
            balances[leg.Account] = balances.GetValueOrDefault(leg.Account) + leg.Delta;
        }

        return balances;
    }

    /// <summary>
    /// Sends every operation once through <paramref name="http"/> (whose handlers retry), from
    /// <paramref name="concurrency"/> clients at a time, and records how each ended.
    /// </summary>
    public static async Task<WorkloadResult> RunAsync(HttpClient http, IReadOnlyList<LedgerOperation> operations, int concurrency, Action? onCompleted = null)
    {
        var outcomes = new ConcurrentDictionary<string, OperationOutcome>(StringComparer.Ordinal);
        var next = -1;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < operations.Count)
            {
                var operation = operations[index];
                using var request = operation.CreateRequest();
                try
                {
                    using var response = await http.SendAsync(request);
                    outcomes[operation.Id] = new OperationOutcome((int)response.StatusCode, response.IsIdempotentReplay(), null);
                }
                catch (Exception ex)
                {
                    outcomes[operation.Id] = new OperationOutcome(null, false, $"{ex.GetType().Name}: {ex.Message}");
                }

                onCompleted?.Invoke();
            }
        })));
        return new WorkloadResult(outcomes, stopwatch.Elapsed);
    }
}
