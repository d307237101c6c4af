using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>Named policies: per-endpoint settings over the global options, two endpoints with different settings in one app.</summary>
public sealed class PolicyTests
{
    [Fact]
    public void Policy_LeavesEveryValueUnset_SoEachFallsBackToTheGlobalOptions()
    {
        var policy = new IdempotencyPolicy();

        Assert.Null(policy.LeaseDuration);
        Assert.Null(policy.ResponseRetention);
        Assert.Null(policy.MaxStoredBodySize);
        Assert.Null(policy.InFlightDuplicates);
        Assert.Null(policy.InFlightWaitTimeout);
        Assert.Null(policy.ShouldStoreResponse);
        Assert.Empty(policy.FingerprintHeaders);
        Assert.Empty(policy.FingerprintExcludedJsonMembers);
        Assert.Empty(new IdempotencyOptions().Policies);
    }

    [Fact]
    public void AddPolicy_ConfiguresAnExistingPolicyFurther_AndNamesAreCaseInsensitive()
    {
        var options = new IdempotencyOptions()
            .AddPolicy("payments", p => p.LeaseDuration = TimeSpan.FromSeconds(30))
            .AddPolicy("Payments", p => p.ResponseRetention = TimeSpan.FromHours(1));

        var policy = Assert.Single(options.Policies).Value;
        Assert.Equal(TimeSpan.FromSeconds(30), policy.LeaseDuration);
        Assert.Equal(TimeSpan.FromHours(1), policy.ResponseRetention);
        Assert.Same(policy, options.Policies["PAYMENTS"]);
    }

    [Fact]
    public async Task Policies_BindFromConfiguration()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Idempotency:Policies:payments:LeaseDuration"] = "00:00:30",
                ["Idempotency:Policies:payments:InFlightDuplicates"] = "Wait",
                ["Idempotency:Policies:payments:FingerprintExcludedJsonMembers:0"] = "sentAt",
            })
            .Build();
        var services = new ServiceCollection();
        services.AddIdempotency(configuration.GetSection("Idempotency"), o => o.AddPolicy("payments", p => p.MaxStoredBodySize = 10));
        await using var provider = services.BuildServiceProvider();

        var policy = provider.GetRequiredService<IOptions<IdempotencyOptions>>().Value.Policies["payments"];

        Assert.Equal(TimeSpan.FromSeconds(30), policy.LeaseDuration);
        Assert.Equal(InFlightDuplicateHandling.Wait, policy.InFlightDuplicates);
        Assert.Equal(["sentAt"], policy.FingerprintExcludedJsonMembers);
        Assert.Equal(10, policy.MaxStoredBodySize);
    }

    [Fact]
    public async Task LeaseAndRetention_ComeFromTheEndpointsPolicy_AndFromTheGlobalOptionsWithout()
    {
        var store = new RecordingStore();
        await using var app = await TestApp.StartAsync(
            e =>
            {
                e.MapPost("/payments", () => "paid").RequireIdempotency("payments");
                e.MapPost("/exports", () => "exported").RequireIdempotency();
            },
            o =>
            {
                o.LeaseDuration = TimeSpan.FromMinutes(10);
                o.ResponseRetention = TimeSpan.FromHours(24);
                o.AddPolicy("payments", p => { p.LeaseDuration = TimeSpan.FromSeconds(30); p.ResponseRetention = TimeSpan.FromHours(2); });
            },
            s => s.AddSingleton<IIdempotencyStore>(store));

        await app.SendAsync(TestApp.Post("/payments", "p1"));
        await app.SendAsync(TestApp.Post("/exports", "e1"));

        Assert.Equal(TimeSpan.FromSeconds(30), store.Leases["p1"]);
        Assert.Equal(TimeSpan.FromHours(2), store.Retentions["p1"]);
        Assert.Equal(TimeSpan.FromMinutes(10), store.Leases["e1"]);
        Assert.Equal(TimeSpan.FromHours(24), store.Retentions["e1"]);
    }

    [Fact]
    public async Task OptionalKeyEndpoints_NameAPolicy_ByConventionAndByAttribute()
    {
        var store = new RecordingStore();
        await using var app = await TestApp.StartAsync(
            e =>
            {
                e.MapPost("/convention", () => "ok").EnableIdempotency("quick");
                e.MapPost("/attribute", [EnableIdempotency(PolicyName = "quick")] () => "ok");
            },
            o => o.AddPolicy("quick", p => p.LeaseDuration = TimeSpan.FromSeconds(7)),
            s => s.AddSingleton<IIdempotencyStore>(store));

        await app.SendAsync(TestApp.Post("/convention", "c"));
        await app.SendAsync(TestApp.Post("/attribute", "a"));
        var unkeyed = await app.SendAsync(TestApp.Post("/convention", key: null));

        Assert.Equal(TimeSpan.FromSeconds(7), store.Leases["c"]);
        Assert.Equal(TimeSpan.FromSeconds(7), store.Leases["a"]);
        Assert.Equal(HttpStatusCode.OK, unkeyed.StatusCode);
    }

    [Fact]
    public async Task UnsetPolicyValues_FallBackToTheGlobalOptions()
    {
        var store = new RecordingStore();
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/payments", () => "paid").RequireIdempotency("payments"),
            o =>
            {
                o.LeaseDuration = TimeSpan.FromMinutes(3);
                o.AddPolicy("payments", p => p.ResponseRetention = TimeSpan.FromHours(2));
            },
            s => s.AddSingleton<IIdempotencyStore>(store));

        await app.SendAsync(TestApp.Post("/payments", "p1"));

        Assert.Equal(TimeSpan.FromMinutes(3), store.Leases["p1"]);
        Assert.Equal(TimeSpan.FromHours(2), store.Retentions["p1"]);
    }

    [Fact]
    public async Task InFlightWait_AppliesToThePolicysEndpoint_WhileTheOtherRejectsAtOnce()
    {
        var store = new RecordingStore();
        var gates = new ConcurrentDictionary<string, TaskCompletionSource>();
        var started = new ConcurrentDictionary<string, TaskCompletionSource>();
        TaskCompletionSource Gate(ConcurrentDictionary<string, TaskCompletionSource> map, string name) =>
            map.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        await using var app = await TestApp.StartAsync(
            e =>
            {
                e.MapPost("/{name}", async (string name) =>
                {
                    Gate(started, name).TrySetResult();
                    await Gate(gates, name).Task;
                    return "done " + name;
                }).RequireIdempotency("waiting");
                e.MapPut("/{name}", async (string name) =>
                {
                    Gate(started, name).TrySetResult();
                    await Gate(gates, name).Task;
                    return "done " + name;
                }).RequireIdempotency();
            },
            o => o.AddPolicy("waiting", p => { p.InFlightDuplicates = InFlightDuplicateHandling.Wait; p.InFlightWaitTimeout = TimeSpan.FromMinutes(5); }),
            s => s.AddSingleton<IIdempotencyStore>(store));

        // The global endpoint: the duplicate gets 409 while the original still runs.
        var rejectingOriginal = app.SendAsync(Put("/r", "r1"));
        await Gate(started, "r").Task;
        var rejected = await app.SendAsync(Put("/r", "r1"));
        Gate(gates, "r").SetResult();
        await rejectingOriginal;

        // The policy's endpoint: the duplicate waits, and receives the original's response once it is released, which
        // happens only after the store answered the duplicate "in flight".
        var waitingOriginal = app.SendAsync(TestApp.Post("/w", "w1"));
        await Gate(started, "w").Task;
        var inFlightSeen = store.InFlightAnswered("w1");
        var waiting = app.SendAsync(TestApp.Post("/w", "w1"));
        await inFlightSeen;
        Gate(gates, "w").SetResult();
        var replay = await waiting;
        await waitingOriginal;

        await ProblemAssert.IsProblemAsync(rejected, HttpStatusCode.Conflict, IdempotencyProblemTypes.RequestInFlight);
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("done w", await replay.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task MaxStoredBodySize_AppliesToThePolicysEndpointOnly()
    {
        await using var app = await TestApp.StartAsync(
            e =>
            {
                e.MapPost("/small", () => "0123456789").RequireIdempotency("small");
                e.MapPost("/global", () => "0123456789").RequireIdempotency();
            },
            o => o.AddPolicy("small", p => p.MaxStoredBodySize = 4));

        await app.SendAsync(TestApp.Post("/small", "s"));
        await app.SendAsync(TestApp.Post("/global", "g"));
        var tooLarge = await app.SendAsync(TestApp.Post("/small", "s"));
        var replay = await app.SendAsync(TestApp.Post("/global", "g"));

        await ProblemAssert.IsProblemAsync(tooLarge, HttpStatusCode.Gone, IdempotencyProblemTypes.ResponseTooLarge);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("0123456789", await replay.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ShouldStoreResponse_AppliesToThePolicysEndpointOnly()
    {
        var executions = new ConcurrentDictionary<string, int>();
        await using var app = await TestApp.StartAsync(
            e =>
            {
                e.MapPost("/{name}", (string name) =>
                {
                    executions.AddOrUpdate(name, 1, (_, n) => n + 1);
                    return Results.BadRequest();
                }).RequireIdempotency("only-success");
                e.MapPut("/{name}", (string name) =>
                {
                    executions.AddOrUpdate(name, 1, (_, n) => n + 1);
                    return Results.BadRequest();
                }).RequireIdempotency();
            },
            o => o.AddPolicy("only-success", p => p.ShouldStoreResponse = args => args.StatusCode < 400));

        await app.SendAsync(TestApp.Post("/policy", "k"));
        var rerun = await app.SendAsync(TestApp.Post("/policy", "k"));
        await app.SendAsync(Put("/global", "k"));
        var replay = await app.SendAsync(Put("/global", "k"));

        Assert.False(rerun.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, executions["policy"]);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, executions["global"]);
    }

    [Fact]
    public async Task FingerprintHeaders_OfThePolicy_AddToTheGlobalOnes_OnItsEndpointOnly()
    {
        await using var app = await TestApp.StartAsync(
            e =>
            {
                e.MapPost("/tenanted", () => "ok").RequireIdempotency("tenanted");
                e.MapPost("/global", () => "ok").RequireIdempotency();
            },
            o =>
            {
                o.FingerprintHeaders.Add("X-Region");
                o.AddPolicy("tenanted", p => p.FingerprintHeaders.Add("X-Tenant"));
            });

        await app.SendAsync(With(TestApp.Post("/tenanted", "t"), ("X-Tenant", "acme"), ("X-Region", "eu")));
        var otherTenant = await app.SendAsync(With(TestApp.Post("/tenanted", "t"), ("X-Tenant", "globex"), ("X-Region", "eu")));
        var otherRegion = await app.SendAsync(With(TestApp.Post("/tenanted", "t"), ("X-Tenant", "acme"), ("X-Region", "us")));
        await app.SendAsync(With(TestApp.Post("/global", "g"), ("X-Tenant", "acme"), ("X-Region", "eu")));
        var globalOtherTenant = await app.SendAsync(With(TestApp.Post("/global", "g"), ("X-Tenant", "globex"), ("X-Region", "eu")));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, otherTenant.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, otherRegion.StatusCode);
        Assert.True(globalOtherTenant.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task ExcludedJsonMember_DifferingOnly_Replays_WhileAnotherDifferenceGets422()
    {
        var executions = 0;
        await using var app = await StartJsonAppAsync(() => Interlocked.Increment(ref executions));

        var original = await app.SendAsync(TestApp.Post("/transfers", "k", """{"amount":10,"sentAt":"2026-01-01T00:00:00Z"}"""));
        var retry = await app.SendAsync(TestApp.Post("/transfers", "k", """{ "amount": 10, "sentAt": "2026-01-01T00:00:05Z" }"""));
        var withoutIt = await app.SendAsync(TestApp.Post("/transfers", "k", """{"amount":10}"""));
        var otherAmount = await app.SendAsync(TestApp.Post("/transfers", "k", """{"amount":11,"sentAt":"2026-01-01T00:00:05Z"}"""));

        Assert.Equal(HttpStatusCode.OK, original.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.True(withoutIt.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, otherAmount.StatusCode);
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task ExcludedJsonMembers_NameNestedMembers_AndMembersOfEveryObjectInAnArray()
    {
        await using var app = await StartJsonAppAsync(() => "ok");

        await app.SendAsync(TestApp.Post("/transfers", "k", """{"meta":{"sentAt":1,"by":"a"},"items":[{"sentAt":1,"n":1},{"sentAt":2,"n":2}]}"""));
        var retry = await app.SendAsync(TestApp.Post("/transfers", "k", """{"meta":{"sentAt":9,"by":"a"},"items":[{"sentAt":8,"n":1},{"sentAt":7,"n":2}]}"""));
        var nestedOther = await app.SendAsync(TestApp.Post("/transfers", "k", """{"meta":{"sentAt":9,"by":"b"},"items":[{"sentAt":8,"n":1},{"sentAt":7,"n":2}]}"""));
        var itemOther = await app.SendAsync(TestApp.Post("/transfers", "k", """{"meta":{"sentAt":9,"by":"a"},"items":[{"sentAt":8,"n":1},{"sentAt":7,"n":3}]}"""));

        // meta.sentAt and items.sentAt are left out; meta.by and the items' other members still count.
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, nestedOther.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, itemOther.StatusCode);
    }

    [Fact]
    public async Task ExcludedJsonMember_CountsWhereItIsNotNamed()
    {
        await using var app = await StartJsonAppAsync(() => "ok");

        await app.SendAsync(TestApp.Post("/transfers", "k", """{"payee":{"sentAt":1}}"""));
        var retry = await app.SendAsync(TestApp.Post("/transfers", "k", """{"payee":{"sentAt":2}}"""));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, retry.StatusCode);
    }

    [Fact]
    public async Task ExcludedJsonMember_StillCounts_OnAnEndpointWithoutThePolicy()
    {
        await using var app = await StartJsonAppAsync(() => "ok");

        await app.SendAsync(TestApp.Post("/global", "k", """{"amount":10,"sentAt":1}"""));
        var retry = await app.SendAsync(TestApp.Post("/global", "k", """{"amount":10,"sentAt":2}"""));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, retry.StatusCode);
    }

    [Fact]
    public async Task BodyThatIsNotJson_IsFingerprintedByteForByte()
    {
        await using var app = await StartJsonAppAsync(() => "ok");

        await app.SendAsync(As(TestApp.Post("/transfers", "text", """{"amount":10,"sentAt":1}"""), "text/plain"));
        var textRetry = await app.SendAsync(As(TestApp.Post("/transfers", "text", """{"amount":10,"sentAt":2}"""), "text/plain"));
        await app.SendAsync(TestApp.Post("/transfers", "broken", """{"amount":10,"sentAt":1"""));
        var brokenSame = await app.SendAsync(TestApp.Post("/transfers", "broken", """{"amount":10,"sentAt":1"""));
        var brokenOther = await app.SendAsync(TestApp.Post("/transfers", "broken", """{"amount":10,"sentAt":2"""));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, textRetry.StatusCode);
        Assert.True(brokenSame.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, brokenOther.StatusCode);
    }

    [Fact]
    public async Task FilteredJsonBody_StillReachesTheHandlerAsSent()
    {
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/echo", async (HttpRequest request) => await new StreamReader(request.Body).ReadToEndAsync()).RequireIdempotency("p"),
            o => o.AddPolicy("p", p => p.FingerprintExcludedJsonMembers.Add("sentAt")));
        var body = """{ "amount": 10, "sentAt": "now", "note": "é" }""" + new string(' ', 70_000);

        var response = await app.SendAsync(TestApp.Post("/echo", "k", body));

        Assert.Equal(body, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task UnknownPolicyName_FailsTheHostAtStartup_NamingTheEndpointAndThePolicy()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddIdempotency(o => o.AddPolicy("payments", _ => { }));
        await using var app = builder.Build();
        app.UseIdempotency();
        app.MapPost("/transfers", () => "ok").RequireIdempotency("paymnets");
        app.MapPost("/refunds", [RequireIdempotency(PolicyName = "refunds")] () => "ok");
        app.MapPost("/fine", () => "ok").RequireIdempotency("PAYMENTS");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());

        Assert.Contains("The endpoint 'HTTP: POST /transfers' requires the idempotency policy 'paymnets', which is not registered (registered: 'payments').", error.Message, StringComparison.Ordinal);
        Assert.Contains("The endpoint 'HTTP: POST /refunds' requires the idempotency policy 'refunds'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("/fine", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownPolicyName_OnAGroup_FailsTheHostAtStartup()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddIdempotency();
        await using var app = builder.Build();
        app.UseIdempotency();
        app.MapGroup("/ledger").RequireIdempotency("ledger").MapPost("/entries", () => "ok");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());

        Assert.Contains("'HTTP: POST /ledger/entries' requires the idempotency policy 'ledger', which is not registered (registered: none)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GroupPolicy_AppliesToItsEndpoints()
    {
        var store = new RecordingStore();
        await using var app = await TestApp.StartAsync(
            e => e.MapGroup("/ledger").RequireIdempotency("ledger").MapPost("/entries", () => "ok"),
            o => o.AddPolicy("ledger", p => p.LeaseDuration = TimeSpan.FromSeconds(5)),
            s => s.AddSingleton<IIdempotencyStore>(store));

        await app.SendAsync(TestApp.Post("/ledger/entries", "k"));

        Assert.Equal(TimeSpan.FromSeconds(5), store.Leases["k"]);
    }

    [Theory]
    [InlineData("lease", "IdempotencyOptions.Policies[payments].LeaseDuration must be positive; it is 00:00:00.")]
    [InlineData("retention", "IdempotencyOptions.Policies[payments].ResponseRetention must be at least 1 second; it is 00:00:00.5000000.")]
    [InlineData("size", "IdempotencyOptions.Policies[payments].MaxStoredBodySize must not be negative; it is -1.")]
    [InlineData("wait", "IdempotencyOptions.Policies[payments].InFlightWaitTimeout must be positive; it is -00:00:01.")]
    [InlineData("mode", "IdempotencyOptions.Policies[payments].InFlightDuplicates must be Reject or Wait; it is 7.")]
    [InlineData("header", "IdempotencyOptions.Policies[payments].FingerprintHeaders must hold valid HTTP header names; 'bad header' is not.")]
    [InlineData("member", "IdempotencyOptions.Policies[payments].FingerprintExcludedJsonMembers must hold member paths such as 'sentAt' or 'meta.sentAt' (names separated by '.', none empty); 'meta..sentAt' is not.")]
    public async Task InvalidPolicyValue_FailsTheHostAtStartup_WithAClearMessage(string value, string message)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddIdempotency(o => o.AddPolicy("payments", p =>
        {
            switch (value)
            {
                case "lease": p.LeaseDuration = TimeSpan.Zero; break;
                case "retention": p.ResponseRetention = TimeSpan.FromMilliseconds(500); break;
                case "size": p.MaxStoredBodySize = -1; break;
                case "wait": p.InFlightWaitTimeout = TimeSpan.FromSeconds(-1); break;
                case "mode": p.InFlightDuplicates = (InFlightDuplicateHandling)7; break;
                case "header": p.FingerprintHeaders.Add("bad header"); break;
                case "member": p.FingerprintExcludedJsonMembers.Add("meta..sentAt"); break;
            }
        }));
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Equal([message], error.Failures);
    }

    [Fact]
    public void Attributes_AndConventions_CarryThePolicyName()
    {
        Assert.Null(new RequireIdempotencyAttribute().PolicyName);
        Assert.Null(((IIdempotencyMetadata)new DisableIdempotencyAttribute()).PolicyName);
        Assert.Equal("p", new EnableIdempotencyAttribute { PolicyName = "p" }.PolicyName);
        Assert.Throws<ArgumentException>(() => new TestConventionBuilder().RequireIdempotency(" "));
    }

    private static Task<TestApp> StartJsonAppAsync(Func<object> handler) =>
        TestApp.StartAsync(
            e =>
            {
                e.MapPost("/transfers", handler).RequireIdempotency("payments");
                e.MapPost("/global", handler).RequireIdempotency();
            },
            o => o.AddPolicy("payments", p =>
            {
                p.FingerprintExcludedJsonMembers.Add("sentAt");
                p.FingerprintExcludedJsonMembers.Add("meta.sentAt");
                p.FingerprintExcludedJsonMembers.Add("items.sentAt");
            }));

    private static HttpRequestMessage Put(string path, string key)
    {
        var request = TestApp.Post(path, key);
        request.Method = HttpMethod.Put;
        return request;
    }

    private static HttpRequestMessage With(HttpRequestMessage request, params (string Name, string Value)[] headers)
    {
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    private static HttpRequestMessage As(HttpRequestMessage request, string contentType)
    {
        request.Content!.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return request;
    }

    private sealed class TestConventionBuilder : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
        }
    }

    /// <summary>The in-memory store, recording each key's lease and retention and signalling "in flight" answers.</summary>
    private sealed class RecordingStore : IIdempotencyStore
    {
        private readonly InMemoryIdempotencyStore _inner = new(
            Options.Create(new InMemoryIdempotencyStoreOptions()),
            new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture)));

        private readonly ConcurrentDictionary<string, TaskCompletionSource> _inFlight = new();

        public ConcurrentDictionary<string, TimeSpan> Leases { get; } = new();

        public ConcurrentDictionary<string, TimeSpan> Retentions { get; } = new();

        public Task InFlightAnswered(string key) => InFlightSource(key).Task;

        public async ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
        {
            Leases[ClientKey(request.Key)] = request.LeaseDuration;
            var result = await _inner.ClaimAsync(request, cancellationToken);
            if (result.Status == ClaimStatus.InFlight)
            {
                InFlightSource(ClientKey(request.Key)).TrySetResult();
            }

            return result;
        }

        public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
        {
            Retentions[ClientKey(request.Key)] = request.Retention;
            return _inner.CompleteAsync(request, cancellationToken);
        }

        public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) =>
            _inner.ReleaseAsync(key, ownerToken, cancellationToken);

        // The storage key ends with the client's key after the scope; the tests' keys hold no ':'.
        private static string ClientKey(string storageKey) => storageKey[(storageKey.LastIndexOf(':') + 1)..];

        private TaskCompletionSource InFlightSource(string key) =>
            _inFlight.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
    }
}
