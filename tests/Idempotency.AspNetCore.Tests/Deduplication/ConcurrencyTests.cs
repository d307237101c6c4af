using System.Net;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.AspNetCore.Tests.Deduplication;

public sealed class ConcurrencyTests
{
    [Fact]
    public async Task FiftyConcurrentDuplicates_ExecuteExactlyOnce()
    {
        const int duplicates = 50;
        var executions = 0;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", async () =>
        {
            Interlocked.Increment(ref executions);
            await gate.Task; // hold the original in flight until every duplicate has been answered
            return Results.Created("/payments/1", new { id = 1 });
        }).RequireIdempotency());

        var sends = Enumerable.Range(0, duplicates).Select(_ => app.SendAsync(TestApp.Post("/pay", "same-key"))).ToList();
        var conflicts = new List<HttpResponseMessage>();
        while (conflicts.Count < duplicates - 1)
        {
            var done = await Task.WhenAny(sends);
            sends.Remove(done);
            conflicts.Add(await done);
        }

        gate.SetResult();
        var original = await sends.Single();
        var retry = await app.SendAsync(TestApp.Post("/pay", "same-key"));

        Assert.Equal(1, executions);
        Assert.Equal(HttpStatusCode.Created, original.StatusCode);
        foreach (var conflict in conflicts)
        {
            await ProblemAssert.IsProblemAsync(conflict, HttpStatusCode.Conflict, IdempotencyProblemTypes.RequestInFlight);
            Assert.True(int.Parse(conflict.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        }

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task WaitMode_DuplicateWaitsForTheOriginal_AndReceivesItsReplay()
    {
        var executions = 0;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", async () =>
            {
                Interlocked.Increment(ref executions);
                started.SetResult();
                await gate.Task;
                return Results.Created("/payments/1", new { id = 1 });
            }).RequireIdempotency(),
            o => o.InFlightDuplicates = InFlightDuplicateHandling.Wait);

        var original = app.SendAsync(TestApp.Post("/pay", "k"));
        await started.Task;
        var duplicate = app.SendAsync(TestApp.Post("/pay", "k"));
        await Task.Delay(100); // let the duplicate find the key in flight and start waiting
        gate.SetResult();

        var duplicateResponse = await duplicate;
        Assert.Equal(HttpStatusCode.Created, (await original).StatusCode);
        Assert.Equal(HttpStatusCode.Created, duplicateResponse.StatusCode);
        Assert.True(duplicateResponse.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task WaitMode_Gets409_WhenTheOriginalOutlastsTheWait()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", async () =>
            {
                started.TrySetResult();
                await gate.Task;
                return "done";
            }).RequireIdempotency(),
            o =>
            {
                o.InFlightDuplicates = InFlightDuplicateHandling.Wait;
                o.InFlightWaitTimeout = TimeSpan.FromMilliseconds(200);
            });

        var original = app.SendAsync(TestApp.Post("/pay", "k"));
        await started.Task;
        var duplicate = await app.SendAsync(TestApp.Post("/pay", "k"));
        gate.SetResult();
        await original;

        await ProblemAssert.IsProblemAsync(duplicate, HttpStatusCode.Conflict, IdempotencyProblemTypes.RequestInFlight);
    }

    [Fact]
    public async Task ExpiredLease_LetsARetryRunAgain_AndTheSlowOriginalLosesItsClaim()
    {
        // The documented limit of leases: a handler that outlives its lease can be run a second time.
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var store = new CountingStore(time);
        var executions = 0;
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", async () =>
            {
                if (Interlocked.Increment(ref executions) == 1)
                {
                    firstStarted.SetResult();
                    await firstGate.Task;
                    return "first";
                }

                return "second";
            }).RequireIdempotency(),
            o => o.LeaseDuration = TimeSpan.FromSeconds(30),
            s => s.AddSingleton<IIdempotencyStore>(store));

        var first = app.SendAsync(TestApp.Post("/pay", "k"));
        await firstStarted.Task;
        time.Advance(TimeSpan.FromSeconds(31));
        var second = await app.SendAsync(TestApp.Post("/pay", "k"));
        firstGate.SetResult();
        await first;
        var third = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal(2, executions);
        Assert.Equal("second", await second.Content.ReadAsStringAsync());
        Assert.Equal("second", await third.Content.ReadAsStringAsync()); // the lost claim stored nothing
    }
}
