using Microsoft.AspNetCore.Builder;

namespace Idempotency.Grpc.AspNetCore.Tests;

public sealed class StartupValidationTests
{
    [Fact]
    public async Task StreamingMethodRequiringIdempotency_FailsTheHostAtStartup_NamingTheMethod()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => GrpcTestServer.StartAsync(map: app =>
        {
            app.MapGrpcService<LedgerService>();
            app.MapGrpcService<FeedService>();
        }));

        Assert.Contains("'/idempotency.tests.Feed/Watch' is a server-streaming method", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Ledger/Deposit", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrpcServiceWithTheHttpMiddlewaresConvention_FailsTheHostAtStartup_PointingToTheGrpcAttribute()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => GrpcTestServer.StartAsync(map: app =>
        {
            app.UseIdempotency();
            app.MapGrpcService<LedgerService>().RequireIdempotency();
        }));

        Assert.Contains("'/idempotency.tests.Ledger/Deposit' carries the HTTP middleware's idempotency metadata", error.Message, StringComparison.Ordinal);
        Assert.Contains("[RequireIdempotentCall]", error.Message, StringComparison.Ordinal);
    }
}
