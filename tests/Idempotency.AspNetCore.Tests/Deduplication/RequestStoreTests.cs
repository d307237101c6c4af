using System.Net;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>The hook for stores that commit with the handler's work: the response waits for the commit.</summary>
public sealed class RequestStoreTests
{
    [Fact]
    public async Task ResponseIsHeldBack_UntilTheRequestStoreCompletes_ThenSent()
    {
        var provider = new RecordingProvider();
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", async (HttpContext context) =>
        {
            context.Response.StatusCode = StatusCodes.Status201Created;
            context.Response.Headers.Location = "/p/1";
            await context.Response.WriteAsync("created");
            await context.Response.Body.FlushAsync(); // even a flush must not send before the commit
            provider.ResponseStartedDuringHandler = context.Response.HasStarted;
        }).RequireIdempotency().WithMetadata(provider));

        var response = await app.SendAsync(TestApp.Post("/pay", "k"));
        var replay = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.False(provider.ResponseStartedDuringHandler);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("created", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, provider.Completions);
        Assert.Equal(2, provider.Disposals);
        Assert.Equal("created", await replay.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HeldResponse_KeepsTheOrderOfWritesThroughTheStreamTheBodyWriterAndSendFile()
    {
        var provider = new RecordingProvider();
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "[file]");
        try
        {
            await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", ReplayTests.WriteThroughEveryApiAsync(file)).RequireIdempotency().WithMetadata(provider));

            var response = await app.SendAsync(TestApp.Post("/pay", "k"));
            var replay = await app.SendAsync(TestApp.Post("/pay", "k"));

            Assert.Equal(ReplayTests.WrittenThroughEveryApi, await response.Content.ReadAsStringAsync());
            Assert.Equal(ReplayTests.WrittenThroughEveryApi, await replay.Content.ReadAsStringAsync());
            Assert.Equal(1, provider.Completions);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task FailedCommit_DiscardsTheHeldResponse_AndAnswers503()
    {
        var provider = new RecordingProvider { FailCompletion = true };
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", (HttpContext context) =>
        {
            context.Response.Headers.Location = "/p/1";
            return Results.Created("/p/1", "created");
        }).RequireIdempotency().WithMetadata(provider));

        var response = await app.SendAsync(TestApp.Post("/pay", "k"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable, IdempotencyProblemTypes.StoreUnavailable);
        Assert.Null(response.Headers.Location);
        Assert.Equal(1, provider.Disposals);
    }

    [Fact]
    public async Task HeldResponseOverTheSizeLimit_IsRolledBack_AndAnswered500_WithoutHoldingItAll()
    {
        var provider = new RecordingProvider();
        var executions = 0;
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/export", async (HttpContext context) =>
            {
                Interlocked.Increment(ref executions);
                for (var i = 0; i < 64; i++)
                {
                    await context.Response.WriteAsync(new string('x', 1024));
                }
            }).RequireIdempotency().WithMetadata(provider),
            o => o.MaxStoredBodySize = 4096);

        var response = await app.SendAsync(TestApp.Post("/export", "k"));
        var retry = await app.SendAsync(TestApp.Post("/export", "k"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError, IdempotencyProblemTypes.ResponseTooLargeToCommit);
        Assert.Equal(0, provider.Completions);
        Assert.Equal(2, provider.Releases); // nothing committed, so the retry ran (and was rolled back) too
        Assert.Equal(2, executions);
        await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.InternalServerError, IdempotencyProblemTypes.ResponseTooLargeToCommit);
    }

    [Fact]
    public async Task HeldResponse_WhoseOutcomeCannotBeRecorded_IsRolledBack_SoARetryRuns()
    {
        var provider = new RecordingProvider();
        var executions = 0;
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireIdempotency().WithMetadata(provider),
            o => o.ShouldStoreResponse = _ => executions == 1 ? throw new InvalidOperationException("predicate bug") : true);

        await Assert.ThrowsAnyAsync<Exception>(() => app.SendAsync(TestApp.Post("/pay", "k")));
        var retry = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(1, provider.Releases);
        Assert.Equal(1, provider.Completions);
        Assert.Equal(2, executions);
    }

    private sealed class RecordingProvider : IIdempotencyRequestStoreProvider
    {
        private readonly CountingStore _shared = new();
        private int _completions;
        private int _disposals;
        private int _releases;

        public bool FailCompletion { get; init; }

        public bool? ResponseStartedDuringHandler { get; set; }

        public int Completions => _completions;

        public int Disposals => _disposals;

        public int Releases => _releases;

        public ValueTask<IIdempotencyUnitOfWorkStore> CreateStoreAsync(HttpContext context, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IIdempotencyUnitOfWorkStore>(new RequestStore(this));

        private sealed class RequestStore(RecordingProvider provider) : IIdempotencyUnitOfWorkStore
        {
            public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken) =>
                provider._shared.ClaimAsync(request, cancellationToken);

            public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
            {
                if (provider.FailCompletion)
                {
                    throw new IdempotencyStoreException("commit failed");
                }

                Interlocked.Increment(ref provider._completions);
                return provider._shared.CompleteAsync(request, cancellationToken);
            }

            public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref provider._releases);
                return provider._shared.ReleaseAsync(key, ownerToken, cancellationToken);
            }

            public ValueTask DisposeAsync()
            {
                Interlocked.Increment(ref provider._disposals);
                return ValueTask.CompletedTask;
            }
        }
    }
}
