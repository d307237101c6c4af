using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Idempotency.Chaos.Tests.Infrastructure;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Idempotency.Chaos.Tests.Fuzz;

/// <summary>
/// Hostile requests to every endpoint of the BankLedger sample on real Kestrel, sent one at a time over raw sockets: as
/// a primary, as a canary that receives mirrored copies, and as a primary whose keys and ledger live in PostgreSQL.
/// After each one the store's and the ledger's counters say what it caused. After the run, every request that carried
/// a key is sent again, now that nothing is in flight: its key must replay or be free, never stuck.
/// </summary>
[Trait("Lane", "Full")]
public sealed class BadInputFuzzTests(ITestOutputHelper output)
{
    private const int Cases = 3_000;
    private const int PostgreSqlCases = 2_000;
    private const string MirrorSecret = "fuzz-mirror-secret-0123456789abcdef";
    private const string Problems = "https://github.com/idempotency-dotnet/idempotency/blob/main/docs/errors.md#";
    private static readonly TimeSpan s_perRequestGuard = TimeSpan.FromSeconds(15);

    // Refusals in front of the store: nothing may be claimed, stored or applied for them.
    private static readonly HashSet<string> s_refusedBeforeTheStore = new(StringComparer.Ordinal)
    {
        Problems + "key-missing",
        Problems + "key-malformed",
        Problems + "key-too-long",
        Problems + "key-repeated",
        Problems + "mirror-write-suppressed",
        Problems + "mirror-marker-invalid",
        Problems + "precondition-malformed",
        "https://bankledger.example/problems/unsupported-charset", // the sample's own guard, in front of the middleware
    };

    [Fact]
    public Task HostileRequests_ToEveryEndpointOfAPrimary_NeverGet5xx_NeverLeaveAKeyStuck_AndNothingIsStoredOrAppliedForARefusedRequest() =>
        RunAsync("Bad input fuzz, primary", ChaosSettings.Seed(7401), Cases, settings: null, mirrorSecret: null);

    [Fact]
    public Task HostileRequests_ToEveryEndpointOfACanaryReceivingCopies_NeverGet5xx_NeverLeaveAKeyStuck_AndNothingIsStoredOrAppliedForARefusedRequest() =>
        RunAsync("Bad input fuzz, canary with a marker secret", ChaosSettings.Seed(7402), Cases, new Dictionary<string, string>
        {
            ["Mirroring:Role"] = "Canary",
            ["Mirroring:Data"] = "Shared",
            ["Mirroring:Header"] = "X-Shadow-Request",
            ["Mirroring:Secret"] = MirrorSecret,
            ["Mirroring:ShadowHosts:0"] = "ledger",
        }, MirrorSecret);

    [Fact]
    public async Task HostileRequests_ToEveryEndpointOfAPrimaryOnPostgreSql_NeverGet5xx_AndNeverLeaveAKeyStuck()
    {
        await using var postgres = await PostgreSqlServer.CreateAsync();
        var connectionString = postgres.ConnectionString(await postgres.CreateDatabaseAsync());

        // The claims of the transactional mode are rows of the request's transaction, out of the counters' sight: a key
        // left in flight is a row in state 1 (in flight) once every request has ended.
        async Task<long> InFlightRecordsAsync()
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT count(*) FROM idempotency_records WHERE state = 1", connection);
            return (long)(await command.ExecuteScalarAsync())!;
        }

        await RunAsync("Bad input fuzz, primary on PostgreSQL (keys and ledger, transactional mode)", ChaosSettings.Seed(7403), PostgreSqlCases, new Dictionary<string, string>
        {
            ["Idempotency:Store"] = "postgres",
            ["ConnectionStrings:Postgres"] = connectionString,
        }, mirrorSecret: null, InFlightRecordsAsync);
    }

    private async Task RunAsync(string title, int seed, int cases, IReadOnlyDictionary<string, string>? settings, string? mirrorSecret, Func<Task<long>>? inFlightRecords = null)
    {
        var report = new ChaosReport(output, title, seed);
        var passed = false;
        try
        {
            await using var server = BankLedgerServer.Start(settings);
            var endpoints = server.DiscoverEndpoints();
            Assert.Contains(endpoints, e => e.Pattern.RawText == "/accounts/{id:long}/entries" && e.Methods.Contains("POST"));
            var accounts = await OpenAccountsAsync(server.Port);
            var generator = new FuzzCaseGenerator(seed, server.Port, accounts, endpoints, server.MarkerHeader, mirrorSecret);
            var counters = server.Counters;
            var violations = new List<string>();
            var statuses = new SortedDictionary<string, int>(StringComparer.Ordinal);
            var unanswered = new SortedDictionary<string, int>(StringComparer.Ordinal);
            var perEndpoint = endpoints.ToDictionary(e => e, _ => (Requests: 0, Handled: 0));
            var keyed = new List<FuzzCase>();
            var refusedBeforeTheStore = 0;
            var stored = 0;
            var replayed = 0;
            long bytesSent = 0;
            var largest = 0;
            var started = DateTime.UtcNow;
            var slowest = new List<(TimeSpan, string)>();

            async Task ViolationAsync(FuzzCase fuzz, string label, string rule, FuzzSnapshot delta)
            {
                var message = $"case {fuzz.Number} [{fuzz.Description}] -> {label}: {rule} ({delta})";
                if (rule.Contains("5xx", StringComparison.Ordinal) && violations.Count(v => v.Contains("5xx", StringComparison.Ordinal)) < 3)
                {
                    var minimal = await RequestMinimizer.MinimizeAsync(server.Port, fuzz.Bytes, fuzz.HalfClose, s_perRequestGuard);
                    message += Environment.NewLine + "  minimal request:" + Environment.NewLine + RequestMinimizer.Printable(minimal);
                }

                violations.Add(message);
            }

            foreach (var fuzz in generator.Generate(ChaosSettings.Scaled(cases)))
            {
                var before = counters.Snapshot();
                var caseStarted = System.Diagnostics.Stopwatch.GetTimestamp();
                var response = await RawHttp.SendAsync(server.Port, fuzz.Bytes, fuzz.HalfClose, s_perRequestGuard);
                slowest.Add((System.Diagnostics.Stopwatch.GetElapsedTime(caseStarted), $"case {fuzz.Number} [{fuzz.Description}]"));
                var delta = counters.Snapshot() - before;
                bytesSent += fuzz.Bytes.Length;
                largest = Math.Max(largest, fuzz.Bytes.Length);
                stored += (int)delta.Completed;
                replayed += response.Replayed ? 1 : 0;
                if (fuzz.Endpoint is { } endpoint && fuzz.Endpoint.Methods.Contains(fuzz.Method, StringComparer.Ordinal))
                {
                    var (requests, handled) = perEndpoint[endpoint];
                    perEndpoint[endpoint] = (requests + 1, handled + (ReachedTheHandler(response) ? 1 : 0));
                }

                var type = response.ProblemType;
                var label = Label(response);
                statuses[label] = statuses.GetValueOrDefault(label) + 1;
                var rules = new List<string>();

                if (response.Status is not { } code)
                {
                    unanswered[response.Error ?? "?"] = unanswered.GetValueOrDefault(response.Error ?? "?") + 1;
                    if (fuzz.WellFramed)
                    {
                        rules.Add("a well-framed request got no answer");
                    }
                }
                else if (code >= 500)
                {
                    rules.Add("5xx");
                }

                if (server.CountsClaims)
                {
                    if (delta.Claimed != delta.Completed + delta.Released)
                    {
                        rules.Add("a claim was left neither completed nor released");
                    }

                    if (delta.KeyedEffects > delta.Claimed)
                    {
                        rules.Add("a keyed endpoint changed the ledger without claiming a key");
                    }
                }

                if (response.Status is not (>= 200 and < 300) && delta.Effects > 0)
                {
                    rules.Add("the ledger changed for a request that did not succeed");
                }

                if (response.Replayed && (delta.Claimed > 0 || delta.Effects > 0))
                {
                    rules.Add("a replay claimed a key or changed the ledger");
                }

                var refused = response.Status == 401
                    || (type is not null && s_refusedBeforeTheStore.Contains(type))
                    || (response.Status == 428 && !fuzz.HasCondition);
                if (refused)
                {
                    refusedBeforeTheStore++;
                    if (delta.ClaimCalls > 0 || delta.Completed > 0 || delta.Effects > 0)
                    {
                        rules.Add("a refused request reached the store or the ledger");
                    }
                }
                else if (fuzz.HasKey && fuzz.WellFramed && (server.CountsClaims ? delta.ClaimCalls > 0 : MayHaveClaimed(fuzz, response)))
                {
                    keyed.Add(fuzz); // its key reached the store
                }

                if (fuzz.Number % 250 == 249 && !await IsHealthyAsync(server.Port))
                {
                    rules.Add("the service stopped answering /healthz");
                }

                foreach (var rule in rules)
                {
                    await ViolationAsync(fuzz, label, rule, delta);
                }
            }

            // Stuck keys: each keyed request again, exactly as sent, now that nothing is in flight. Its key either replays
            // (the answer was stored), belongs to a later request (422), or is free and runs again; never 409 in-flight.
            var retries = new SortedDictionary<string, int>(StringComparer.Ordinal);
            foreach (var fuzz in keyed)
            {
                var before = counters.Snapshot();
                var response = await RawHttp.SendAsync(server.Port, fuzz.Bytes, fuzz.HalfClose, s_perRequestGuard);
                var delta = counters.Snapshot() - before;
                var label = response.Replayed ? "replayed" : Label(response);
                retries[label] = retries.GetValueOrDefault(label) + 1;
                if (response.Status is null)
                {
                    await ViolationAsync(fuzz, label, "a same-key retry got no answer", delta);
                }
                else if (response.Status >= 500)
                {
                    await ViolationAsync(fuzz, label, "a same-key retry got 5xx", delta);
                }
                else if (response.Status == 409 && response.ProblemType == Problems + "request-in-flight")
                {
                    await ViolationAsync(fuzz, label, "stuck key: a same-key retry got 409 request-in-flight with nothing in flight", delta);
                }
                else if (server.CountsClaims && delta.Claimed != delta.Completed + delta.Released)
                {
                    await ViolationAsync(fuzz, label, "a same-key retry left a claim neither completed nor released", delta);
                }
            }

            var leftInFlight = inFlightRecords is null ? 0 : await inFlightRecords();
            var healthyAtTheEnd = await IsHealthyAsync(server.Port);
            var depositAtTheEnd = await DepositAsync(server.Port, accounts.Alice, Guid.NewGuid().ToString());
            var totals = counters.Snapshot();

            report.Add("requests", ChaosSettings.Scaled(cases));
            report.Add("endpoints (from the app's routing): requests with one of its methods, answered by its handler", string.Join(", ", perEndpoint.Select(p => $"{p.Key.Name}: {p.Value.Requests}, {p.Value.Handled}")));
            report.Add("bytes sent (largest request)", $"{bytesSent:N0} ({largest:N0})");
            report.Add("answers by status and problem type", string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}")));
            report.Add("refused before the store (401, key, marker, precondition problems)", refusedBeforeTheStore);
            report.Add("replays served", replayed);
            if (server.CountsClaims)
            {
                report.Add("responses stored for replay", stored);
                report.Add("store: claims, completions, releases", $"{totals.Claimed}, {totals.Completed}, {totals.Released}");
            }

            report.Add("ledger changes (keyed endpoints, conditional endpoint)", $"{totals.KeyedEffects}, {totals.ConditionalEffects}");
            report.Add("unanswered (broken framing or over Kestrel's limits)", unanswered.Count == 0 ? "0" : string.Join(", ", unanswered.Select(u => $"{u.Key}: {u.Value}")));
            report.Add("same-key retries after the run (requests whose key reached the store)", $"{keyed.Count}: {string.Join(", ", retries.Select(r => $"{r.Key}: {r.Value}"))}");
            report.Add("elapsed (s)", Math.Round((DateTime.UtcNow - started).TotalSeconds, 1));
            foreach (var (time, description) in slowest.OrderByDescending(x => x.Item1).Take(5))
            {
                report.Note($"slow: {time.TotalMilliseconds:F0} ms {description}");
            }

            foreach (var violation in violations.Take(20))
            {
                report.Note(violation);
            }

            Assert.True(violations.Count == 0, $"{violations.Count} violation(s):{Environment.NewLine}{string.Join(Environment.NewLine, violations.Take(20))}");
            Assert.True(refusedBeforeTheStore > 0, "No request was refused: the fuzz run did not reach the checks it is for.");
            Assert.True(retries.GetValueOrDefault("replayed") > 0, "No same-key retry was replayed: the stuck-key check proved nothing.");
            Assert.All(perEndpoint.Where(p => !p.Key.IsGrpc), p => Assert.True(p.Value.Handled > 0, $"{p.Key.Name}: none of its {p.Value.Requests} requests reached its handler."));
            Assert.Equal(0, leftInFlight);
            Assert.True(healthyAtTheEnd, "The service does not answer /healthz after the run.");
            Assert.Equal(201, depositAtTheEnd);
            if (server.CountsClaims)
            {
                Assert.True(stored > 0, "No response was stored: the fuzz run never got past the refusals.");
                Assert.Equal(totals.Claimed, totals.Completed + totals.Released);
            }

            passed = true;
        }
        finally
        {
            report.Flush(passed);
        }
    }

    // Without counters (the transactional mode's claims are invisible to them): a write that an endpoint answered, or
    // the middleware after its claim. Requests no endpoint took (404 and 405 from routing, Kestrel's own 400, 414 and
    // 431) never reach the store, nor do reads.
    private static bool MayHaveClaimed(FuzzCase fuzz, RawResponse response) =>
        fuzz.Endpoint is not null
        && !fuzz.Endpoint.Methods.All(m => m is "GET" or "HEAD")
        && response.Status is { } status
        && status is not (405 or 414 or 431)
        && !(status is 404 or 400 && ShortType(response.ProblemType) is "" or "rfc9110:15.5.5");

    // An answer only the endpoint's handler gives: a success, 304 or 412 from its precondition check, or one of the sample's problems.
    private static bool ReachedTheHandler(RawResponse response) =>
        response.Status is (>= 200 and < 300) or 304 or 412
        || response.ProblemType?.StartsWith("https://bankledger.example/problems/", StringComparison.Ordinal) == true && response.ProblemType != "https://bankledger.example/problems/unsupported-charset";

    private static string Label(RawResponse response) =>
        response.Status is { } status ? $"{status} {ShortType(response.ProblemType)}".TrimEnd() : "no answer";

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
        _ when type.StartsWith(Problems, StringComparison.Ordinal) => type[Problems.Length..],
        _ when type.StartsWith("https://bankledger.example/problems/", StringComparison.Ordinal) => "ledger:" + type["https://bankledger.example/problems/".Length..],
        _ when type.Contains("rfc9110#section-", StringComparison.Ordinal) => "rfc9110:" + type[(type.IndexOf("#section-", StringComparison.Ordinal) + 9)..],
        _ => type.ToString(CultureInfo.InvariantCulture),
    };
}
