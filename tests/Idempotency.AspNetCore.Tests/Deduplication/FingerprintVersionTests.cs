using System.Net;
using System.Text;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using static Idempotency.AspNetCore.Tests.Deduplication.FingerprintTests;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>Records written before fingerprint version 2 hold version 1 fingerprints, and still answer their retries.</summary>
public sealed class FingerprintVersionTests
{
    private static readonly string StorageKey = IdempotencyStorageKey.Create(TestApp.AliceScope, "k");

    [Theory]
    [InlineData(2)]
    [InlineData(100_000)] // past the pooled buffer: the body is in ASP.NET Core's request buffer
    public async Task RecordWithAV1Fingerprint_IsReplayedToTheSameRequest_AndAnotherBodyStillGets422(int size)
    {
        var executions = 0;
        await using var app = await StartAsync(() => Interlocked.Increment(ref executions));
        var body = new string('x', size);
        await StoreV1RecordAsync(app, body, complete: true);

        var replay = await app.SendAsync(TestApp.Post("/pay", "k", body));
        var otherBody = await app.SendAsync(TestApp.Post("/pay", "k", body[..^1] + "y"));

        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.Equal("stored by v1", await replay.Content.ReadAsStringAsync());
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        await ProblemAssert.IsProblemAsync(otherBody, HttpStatusCode.UnprocessableEntity, IdempotencyProblemTypes.KeyReused);
        Assert.Equal(0, executions);
    }

    [Fact]
    public async Task RecordWithAV1Fingerprint_StillInFlight_Gets409()
    {
        await using var app = await StartAsync(() => "ok");
        await StoreV1RecordAsync(app, "{}", complete: false);

        var response = await app.SendAsync(TestApp.Post("/pay", "k", "{}"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict, IdempotencyProblemTypes.RequestInFlight);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(100_000)]
    public async Task RecordGoneBetweenTheTwoClaims_RunsTheRequestUnderItsV1Claim_WithTheBodyRewound_AndCompletesIt(int size)
    {
        // The v2 claim answers a mismatch (a v1 record), which expires before the v1 claim: that claim is the request's.
        var store = new FirstClaimMismatchesStore();
        var executions = 0;
        await using var app = await StartAsync(
            async (HttpRequest request) =>
            {
                Interlocked.Increment(ref executions);
                using var reader = new StreamReader(request.Body);
                return (await reader.ReadToEndAsync()).Length;
            },
            services: s => s.AddSingleton<IIdempotencyStore>(store));
        var body = new string('x', size);

        var first = await app.SendAsync(TestApp.Post("/pay", "k", body));
        var retry = await app.SendAsync(TestApp.Post("/pay", "k", body));

        Assert.Equal(size.ToString(System.Globalization.CultureInfo.InvariantCulture), await first.Content.ReadAsStringAsync());
        Assert.Equal(CompletionStatus.Completed, store.LastCompletion);
        Assert.Equal(V1Fingerprint(body), store.ClaimedFingerprint);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, executions);
    }

    // What releases before version 2 computed for TestApp.Post("/pay", ...): POST, route /pay, no path base, no query.
    private static byte[] V1Fingerprint(string body)
    {
        using var fingerprint = RequestFingerprintBuilder.ForHttpRequestV1("POST", "/pay", string.Empty, "/pay", string.Empty);
        fingerprint.AppendBody(Encoding.UTF8.GetBytes(body));
        return fingerprint.Finish();
    }

    private static async Task StoreV1RecordAsync(TestApp app, string body, bool complete)
    {
        var store = app.Services.GetRequiredService<IIdempotencyStore>();
        var claim = await store.ClaimAsync(new IdempotencyClaimRequest(StorageKey, V1Fingerprint(body), "v1-owner", TimeSpan.FromMinutes(1)), CancellationToken.None);
        Assert.Equal(ClaimStatus.Claimed, claim.Status);
        if (complete)
        {
            // The envelope as every release before the engine wrote it (version 1, an HTTP response), then the response.
            var content = StoredResponseFormat.Content(new StoredResponse(StatusCodes.Status201Created, [], "stored by v1"u8.ToArray()));
            var payload = new byte[2 + content.Length];
            payload[0] = 1;
            payload[1] = (byte)IdempotencyRecordKind.HttpResponse;
            content.WriteTo(payload.AsSpan(2));
            var completion = await store.CompleteAsync(new IdempotencyCompleteRequest(StorageKey, "v1-owner", payload, TimeSpan.FromHours(1)), CancellationToken.None);
            Assert.Equal(CompletionStatus.Completed, completion);
        }
    }

    /// <summary>The in-memory store, except that its first claim answers a mismatch.</summary>
    private sealed class FirstClaimMismatchesStore : IIdempotencyStore
    {
        private readonly CountingStore _inner = new();
        private int _claims;

        public CompletionStatus? LastCompletion { get; private set; }

        public byte[]? ClaimedFingerprint { get; private set; }

        public async ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _claims) == 1)
            {
                return IdempotencyClaimResult.FingerprintMismatch();
            }

            var claim = await _inner.ClaimAsync(request, cancellationToken);
            if (claim.Status == ClaimStatus.Claimed)
            {
                ClaimedFingerprint = request.Fingerprint.ToArray();
            }

            return claim;
        }

        public async ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken) =>
            (LastCompletion = await _inner.CompleteAsync(request, cancellationToken)).Value;

        public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) => _inner.ReleaseAsync(key, ownerToken, cancellationToken);
    }
}
