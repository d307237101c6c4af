using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Idempotency.Chaos.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Idempotency.Chaos.Tests.Fuzz;

/// <summary>
/// Hostile requests, sent one at a time over raw sockets to the BankLedger sample on real Kestrel, as a primary and as a
/// canary that receives mirrored copies. After each one the store's and the ledger's counters say what it caused.
/// </summary>
public sealed class BadInputFuzzTests(ITestOutputHelper output)
{
    private const int Cases = 3_000;
    private const string MirrorSecret = "fuzz-mirror-secret-0123456789abcdef";
    private static readonly TimeSpan s_perRequestGuard = TimeSpan.FromSeconds(15);

    // The middleware's own refusals: they come before any store call, so nothing may be claimed, stored or applied.
    private static readonly HashSet<string> s_refusedBeforeTheStore = new(StringComparer.Ordinal)
    {
        "https://idempotency.dev/problems/key-missing",
        "https://idempotency.dev/problems/key-malformed",
        "https://idempotency.dev/problems/key-too-long",
        "https://idempotency.dev/problems/key-repeated",
        "https://idempotency.dev/problems/mirror-write-suppressed",
        "https://idempotency.dev/problems/mirror-marker-invalid",
        "https://idempotency.dev/problems/precondition-malformed",
    };

    [Fact]
    public Task HostileRequests_ToAPrimary_NeverGet5xx_AndNothingIsStoredOrAppliedForARefusedRequest() =>
        RunAsync("Bad input fuzz, primary", ChaosSettings.Seed(7401), settings: null, mirrorSecret: null);

    [Fact]
    public Task HostileRequests_ToACanaryReceivingCopies_NeverGet5xx_AndNothingIsStoredOrAppliedForARefusedRequest() =>
        RunAsync("Bad input fuzz, canary with a marker secret", ChaosSettings.Seed(7402), new Dictionary<string, string>
        {
            ["Mirroring:Role"] = "Canary",
            ["Mirroring:Data"] = "Shared",
            ["Mirroring:Header"] = "X-Shadow-Request",
            ["Mirroring:Secret"] = MirrorSecret,
        }, MirrorSecret);

    private async Task RunAsync(string title, int seed, IReadOnlyDictionary<string, string>? settings, string? mirrorSecret)
    {
        var report = new ChaosReport(output, title, seed);
        var passed = false;
        try
        {
            await using var server = BankLedgerServer.Start(settings);
            var accounts = await OpenAccountsAsync(server.Port);
            var generator = new FuzzCaseGenerator(seed, server.Port, accounts, mirrorSecret);
            var counters = server.Counters;
            var violations = new List<string>();
            var statuses = new SortedDictionary<string, int>(StringComparer.Ordinal);
            var unanswered = new SortedDictionary<string, int>(StringComparer.Ordinal);
            var refusedBeforeTheStore = 0;
            var stored = 0;
            long bytesSent = 0;
            var largest = 0;
            var started = DateTime.UtcNow;
            var slowest = new List<(TimeSpan, string)>();

            foreach (var fuzz in generator.Generate(ChaosSettings.Scaled(Cases)))
            {
                var before = counters.Snapshot();
                var caseStarted = System.Diagnostics.Stopwatch.GetTimestamp();
                var response = await RawHttp.SendAsync(server.Port, fuzz.Bytes, fuzz.HalfClose, s_perRequestGuard);
                slowest.Add((System.Diagnostics.Stopwatch.GetElapsedTime(caseStarted), $"case {fuzz.Number} [{fuzz.Description}]"));
                var delta = counters.Snapshot() - before;
                bytesSent += fuzz.Bytes.Length;
                largest = Math.Max(largest, fuzz.Bytes.Length);
                stored += (int)delta.Completed;

                var type = response.ProblemType;
                var label = response.Status is { } status ? $"{status} {ShortType(type)}".TrimEnd() : "no answer";
                statuses[label] = statuses.GetValueOrDefault(label) + 1;
                void Violation(string rule) => violations.Add($"case {fuzz.Number} [{fuzz.Description}] -> {label}: {rule} ({delta})");

                if (response.Status is not { } code)
                {
                    unanswered[response.Error ?? "?"] = unanswered.GetValueOrDefault(response.Error ?? "?") + 1;
                    if (fuzz.WellFramed)
                    {
                        Violation("a well-framed request got no answer");
                    }
                }
                else if (code >= 500)
                {
                    Violation("5xx");
                }

                if (delta.Claimed != delta.Completed + delta.Released)
                {
                    Violation("a claim was left neither completed nor released");
                }

                if (delta.KeyedEffects > delta.Claimed)
                {
                    Violation("a keyed endpoint changed the ledger without claiming a key");
                }

                if (response.Status is not (>= 200 and < 300) && delta.Effects > 0)
                {
                    Violation("the ledger changed for a request that did not succeed");
                }

                if (response.Replayed && (delta.Claimed > 0 || delta.Effects > 0))
                {
                    Violation("a replay claimed a key or changed the ledger");
                }

                var refused = response.Status == 401
                    || (type is not null && s_refusedBeforeTheStore.Contains(type))
                    || (response.Status == 428 && !fuzz.HasCondition);
                if (refused)
                {
                    refusedBeforeTheStore++;
                    if (delta.ClaimCalls > 0 || delta.Completed > 0 || delta.Effects > 0)
                    {
                        Violation("a refused request reached the store or the ledger");
                    }
                }

                if (fuzz.Number % 250 == 249 && !await IsHealthyAsync(server.Port))
                {
                    Violation("the service stopped answering /healthz");
                }
            }

            var healthyAtTheEnd = await IsHealthyAsync(server.Port);
            var depositAtTheEnd = await DepositAsync(server.Port, accounts.Alice, Guid.NewGuid().ToString());
            var totals = counters.Snapshot();

            report.Add("requests", ChaosSettings.Scaled(Cases));
            report.Add("bytes sent (largest request)", $"{bytesSent:N0} ({largest:N0})");
            report.Add("answers by status and problem type", string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}")));
            report.Add("refused before the store (401, key, marker, precondition problems)", refusedBeforeTheStore);
            report.Add("responses stored for replay", stored);
            report.Add("store: claims, completions, releases", $"{totals.Claimed}, {totals.Completed}, {totals.Released}");
            report.Add("ledger changes (keyed endpoints, conditional endpoint)", $"{totals.KeyedEffects}, {totals.ConditionalEffects}");
            report.Add("unanswered (broken framing or over Kestrel's limits)", unanswered.Count == 0 ? "0" : string.Join(", ", unanswered.Select(u => $"{u.Key}: {u.Value}")));
            report.Add("elapsed (s)", Math.Round((DateTime.UtcNow - started).TotalSeconds, 1));
            foreach (var (time, description) in slowest.OrderByDescending(x => x.Item1).Take(8))
            {
                report.Note($"slow: {time.TotalMilliseconds:F0} ms {description}");
            }

            foreach (var violation in violations.Take(20))
            {
                report.Note(violation);
            }

            Assert.True(violations.Count == 0, $"{violations.Count} violation(s):{Environment.NewLine}{string.Join(Environment.NewLine, violations.Take(20))}");
            Assert.True(refusedBeforeTheStore > 0, "No request was refused: the fuzz run did not reach the checks it is for.");
            Assert.True(stored > 0, "No response was stored: the fuzz run never got past the refusals.");
            Assert.True(healthyAtTheEnd, "The service does not answer /healthz after the run.");
            Assert.Equal(201, depositAtTheEnd);
            passed = true;
        }
        finally
        {
            report.Flush(passed);
        }
    }

    private static async Task<FuzzAccounts> OpenAccountsAsync(int port)
    {
        using var alice = Client(port, "alice-token");
        using var bob = Client(port, "bob-token");
        var first = await OpenAsync(alice);
        var second = await OpenAsync(alice);
        var bobs = await OpenAsync(bob);
        var entries = await OpenAsync(alice);
        using var fund = new HttpRequestMessage(HttpMethod.Post, $"accounts/{first}/deposits") { Content = JsonContent.Create(new { amount = 1_000_000 }) };
        fund.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        (await alice.SendAsync(fund)).EnsureSuccessStatusCode();
        return new FuzzAccounts(first, second, bobs, entries);

        static async Task<long> OpenAsync(HttpClient client)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "accounts") { Content = JsonContent.Create(new { owner = "fuzz" }) };
            request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
            using var response = await client.SendAsync(request);
            response.EnsureSuccessStatusCode();
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        }
    }

    private static HttpClient Client(int port, string token) => new(new SocketsHttpHandler { UseProxy = false })
    {
        BaseAddress = new Uri($"http://127.0.0.1:{port}/"),
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", token) },
    };

    private static async Task<bool> IsHealthyAsync(int port)
    {
        var response = await RawHttp.SendAsync(port, Encoding.ASCII.GetBytes($"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"), halfClose: false, s_perRequestGuard);
        return response.Status == 200;
    }

    private static async Task<int> DepositAsync(int port, long account, string key)
    {
        using var alice = Client(port, "alice-token");
        using var request = new HttpRequestMessage(HttpMethod.Post, $"accounts/{account}/deposits") { Content = JsonContent.Create(new { amount = 1 }) };
        request.Headers.Add("Idempotency-Key", key);
        using var response = await alice.SendAsync(request);
        return (int)response.StatusCode;
    }

    private static string ShortType(string? type) => type switch
    {
        null => string.Empty,
        _ when type.StartsWith("https://idempotency.dev/problems/", StringComparison.Ordinal) => type["https://idempotency.dev/problems/".Length..],
        _ when type.StartsWith("https://bankledger.example/problems/", StringComparison.Ordinal) => "ledger:" + type["https://bankledger.example/problems/".Length..],
        _ when type.Contains("rfc9110#section-", StringComparison.Ordinal) => "rfc9110:" + type[(type.IndexOf("#section-", StringComparison.Ordinal) + 9)..],
        _ => type.ToString(CultureInfo.InvariantCulture),
    };
}
