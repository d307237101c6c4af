using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>
/// One audit event per keyed request, and no raw key, path, user id or storage key in any log above Debug.
/// </summary>
public sealed class AuditLogTests
{
    private const string Secret = "an-operator-secret-of-some-length";
    private const string Key = "8e03978e-40d5-43e8-bc93-6894a57f9324";

    [Fact]
    public async Task EveryKeyedRequest_WritesOneAuditEvent_WithOutcomeRouteTemplateTraceAndKeyedHashes()
    {
        var logs = new FakeLogCollector();
        var gate = new TaskCompletionSource();
        var entered = new TaskCompletionSource();
        await using var app = await StartAsync(logs, e => e.MapPost("/accounts/{id}/pay", async (HttpContext c) =>
        {
            if (c.Request.Query.ContainsKey("slow"))
            {
                entered.TrySetResult();
                await gate.Task;
            }

            return "paid";
        }).RequireIdempotency());

        await app.SendAsync(TestApp.Post("/accounts/42/pay", Key));                       // executed
        await app.SendAsync(TestApp.Post("/accounts/42/pay", Key));                       // replayed
        await app.SendAsync(TestApp.Post("/accounts/42/pay", Key, body: "{\"other\":1}")); // mismatch
        await app.SendAsync(TestApp.Post("/accounts/42/pay", null));                      // rejected
        var slow = app.SendAsync(TestApp.Post("/accounts/42/pay?slow", "slow-key"));
        await entered.Task;
        var conflict = (await app.SendAsync(TestApp.Post("/accounts/42/pay?slow", "slow-key"))).StatusCode; // conflict
        gate.SetResult();
        await slow;

        var audits = logs.GetSnapshot().Where(IsAudit).ToList();
        Assert.Equal(["executed", "replayed", "mismatch", "rejected", "conflict", "executed"], audits.Select(a => Field(a, "Outcome")).ToList());
        Assert.Equal(HttpStatusCode.Conflict, conflict);
        Assert.All(audits, a =>
        {
            Assert.Equal(LogLevel.Information, a.Level);
            Assert.Equal(IdempotencyTelemetry.AuditLogCategory, a.Category);
            Assert.Equal("/accounts/{id}/pay", Field(a, "RouteTemplate"));
            Assert.False(string.IsNullOrEmpty(Field(a, "TraceId")));
        });
        Assert.Equal(ExpectedHash('k', Key), Field(audits[0], "KeyHash"));
        Assert.Equal(ExpectedHash('s', TestApp.AliceScope), Field(audits[0], "ScopeHash"));
        Assert.Equal(Field(audits[0], "KeyHash"), Field(audits[1], "KeyHash"));
        Assert.Equal("-", Field(audits[3], "KeyHash"));
    }

    [Fact]
    public async Task WithACurrentActivity_AuditEventsCarryItsTraceId_AndTheRequestsTraceIdentifierIsNeverBuilt()
    {
        // Kestrel builds TraceIdentifier, a new string, on its first read: a keyed request must not pay for it when its
        // audit event carries the activity's trace id anyway.
        var probe = new TraceIdentifierProbe(withoutActivity: false);

        var audits = await AuditsOfThreeOutcomesAsync(probe);

        Assert.All(probe.ActivityTraceIds, id => Assert.Matches("^[0-9a-f]{32}$", id));
        Assert.Equal(probe.ActivityTraceIds, audits.Select(a => Field(a, "TraceId") ?? string.Empty).ToList());
        Assert.Equal(0, probe.TraceIdentifierReads);
    }

    [Fact]
    public async Task WithoutACurrentActivity_AuditEventsCarryTheRequestsTraceIdentifier()
    {
        var audits = await AuditsOfThreeOutcomesAsync(new TraceIdentifierProbe(withoutActivity: true));

        Assert.All(audits, a => Assert.Equal(TraceIdentifierProbe.TraceIdentifier, Field(a, "TraceId")));
    }

    [Fact]
    public async Task WithoutACurrentActivityOrAnAuditLog_TheRequestsTraceIdentifierIsNeverBuilt()
    {
        var logs = new FakeLogCollector();
        var probe = new TraceIdentifierProbe(withoutActivity: true);
        await using var app = await StartAsync(logs, e => e.MapPost("/pay", () => "paid").RequireIdempotency(), probe, audit: false);

        Assert.Equal(HttpStatusCode.OK, (await app.SendAsync(TestApp.Post("/pay", Key))).StatusCode); // executed
        Assert.Equal(HttpStatusCode.OK, (await app.SendAsync(TestApp.Post("/pay", Key))).StatusCode); // replayed
        // (Not a refusal: ASP.NET Core's problem details read TraceIdentifier for their traceId without an activity.)

        Assert.DoesNotContain(logs.GetSnapshot(), IsAudit);
        Assert.Equal(0, probe.TraceIdentifierReads);
    }

    [Fact]
    public async Task NoLogAboveDebug_CarriesTheRawKeyThePathTheUserOrTheStorageKey()
    {
        var logs = new FakeLogCollector();
        var failing = new FailingStore();
        await using var app = await StartAsync(
            logs,
            e =>
            {
                e.MapPost("/accounts/{id}/pay", () => "paid").RequireIdempotency();
                e.MapPost("/accounts/{id}/down", () => "never").RequireIdempotency().WithMetadata(new FailingStoreProvider(failing));
            });

        await app.SendAsync(TestApp.Post("/accounts/4242/pay", Key, user: "alice-user-id"));
        await app.SendAsync(TestApp.Post("/accounts/4242/pay", Key, user: "alice-user-id"));
        var down = await app.SendAsync(TestApp.Post("/accounts/4242/down", Key, user: "alice-user-id"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        // The library's own categories (ASP.NET Core's hosting logs the path at Information on its own, configurable apart).
        var visible = logs.GetSnapshot().Where(r => r.Level > LogLevel.Debug && r.Category!.StartsWith("Idempotency", StringComparison.Ordinal)).ToList();
        Assert.Contains(visible, r => r.Id.Name == "StoreUnavailable");
        Assert.All(visible, r =>
        {
            var text = r.Message + " " + r.Exception;
            Assert.DoesNotContain(Key, text, StringComparison.Ordinal);
            Assert.DoesNotContain("4242", text, StringComparison.Ordinal);
            Assert.DoesNotContain("alice-user-id", text, StringComparison.Ordinal);
        });
        var storeFault = Assert.Single(visible, r => r.Id.Name == "StoreUnavailable");
        Assert.Contains("[storage key]", storeFault.Message, StringComparison.Ordinal);
        Assert.Contains("connection reset", storeFault.Message, StringComparison.Ordinal);
        var detail = Assert.Single(logs.GetSnapshot(), r => r.Id.Name == "StoreFaultDetail");
        Assert.Equal(LogLevel.Debug, detail.Level);
        Assert.NotNull(detail.Exception);
    }

    private static bool IsAudit(FakeLogRecord record) => record.Id.Name == "Audit";

    // An executed, a replayed and a rejected request, with the probe first in the pipeline: their audit events.
    private static async Task<List<FakeLogRecord>> AuditsOfThreeOutcomesAsync(TraceIdentifierProbe probe)
    {
        var logs = new FakeLogCollector();
        await using var app = await StartAsync(logs, e => e.MapPost("/pay", () => "paid").RequireIdempotency(), probe);

        await app.SendAsync(TestApp.Post("/pay", Key)); // executed
        await app.SendAsync(TestApp.Post("/pay", Key)); // replayed
        await app.SendAsync(TestApp.Post("/pay", null)); // rejected

        var audits = logs.GetSnapshot().Where(IsAudit).ToList();
        Assert.Equal(["executed", "replayed", "rejected"], audits.Select(a => Field(a, "Outcome")).ToList());
        return audits;
    }

    private static string? Field(FakeLogRecord record, string name) =>
        record.StructuredState?.FirstOrDefault(p => p.Key == name).Value;

    private static string ExpectedHash(char domain, string value)
    {
        // The documented recipe: HMAC-SHA256(secret, domain || UTF-8 value), first 8 bytes, lowercase hex.
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes(domain + value));
        return Convert.ToHexStringLower(mac.AsSpan(0, 8));
    }

    private static Task<TestApp> StartAsync(FakeLogCollector logs, Action<IEndpointRouteBuilder> map, IStartupFilter? first = null, bool audit = true) => TestApp.StartAsync(
        map,
        o => o.AuditHashSecret = Secret,
        s =>
        {
            s.AddLogging(l => l.SetMinimumLevel(LogLevel.Debug).AddProvider(new FakeLoggerProvider(logs))
                .AddFilter(IdempotencyTelemetry.AuditLogCategory, audit ? LogLevel.Debug : LogLevel.None));
            if (first is not null)
            {
                s.AddSingleton(first);
            }
        });

    /// <summary>
    /// First in the pipeline: gives each request a trace identifier that counts its reads, notes the current activity's
    /// trace id, or takes the activity away (as in a host that creates none).
    /// </summary>
    private sealed class TraceIdentifierProbe(bool withoutActivity) : IStartupFilter, IHttpRequestIdentifierFeature
    {
        public const string TraceIdentifier = "0HN-probe:00000001";

        private int _reads;

        public int TraceIdentifierReads => Volatile.Read(ref _reads);

        public List<string> ActivityTraceIds { get; } = [];

        string IHttpRequestIdentifierFeature.TraceIdentifier
        {
            get
            {
                Interlocked.Increment(ref _reads);
                return TraceIdentifier;
            }

            set => throw new NotSupportedException();
        }

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                context.Features.Set<IHttpRequestIdentifierFeature>(this);
                if (withoutActivity)
                {
                    Activity.Current = null;
                }

                ActivityTraceIds.Add(Activity.Current?.TraceId.ToHexString() ?? string.Empty);
                await nextMiddleware(context);
            });
            next(app);
        };
    }

    private sealed class FailingStore : IIdempotencyStore
    {
        public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken) =>
            throw new IdempotencyStoreException("The store could not claim the key.", new IOException($"connection reset while sending EVALSHA idem:{request.Key}"));

        public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private sealed class FailingStoreProvider(FailingStore store) : IIdempotencyRequestStoreProvider
    {
        public ValueTask<IIdempotencyUnitOfWorkStore> CreateStoreAsync(HttpContext context, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IIdempotencyUnitOfWorkStore>(new Bound(store));

        private sealed class Bound(FailingStore store) : IIdempotencyUnitOfWorkStore
        {
            public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken) => store.ClaimAsync(request, cancellationToken);

            public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken) => store.CompleteAsync(request, cancellationToken);

            public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) => store.ReleaseAsync(key, ownerToken, cancellationToken);

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
