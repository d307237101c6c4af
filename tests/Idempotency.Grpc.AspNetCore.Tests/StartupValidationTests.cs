using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

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

    [Fact]
    public async Task GrpcServiceWithTheHttpMiddlewaresConvention_WithoutTheGrpcPackage_FailsTheHostAtStartup_NamingWhatToRegister()
    {
        // Only the HTTP middleware: without this check it would store the call as an HTTP response and replay it
        // without the grpc-status trailer, a broken call for every retry.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => GrpcTestServer.StartAsync(
            grpcIdempotency: false,
            configureServices: services => services.AddIdempotency(),
            map: app =>
            {
                app.UseIdempotency();
                app.MapGrpcService<LedgerService>().RequireIdempotency();
            }));

        Assert.Contains("gRPC method '/idempotency.tests.Ledger/Deposit' carries the HTTP middleware's idempotency metadata", error.Message, StringComparison.Ordinal);
        Assert.Contains("'/idempotency.tests.Ledger/Balance'", error.Message, StringComparison.Ordinal);
        Assert.Contains("services.AddGrpc().AddIdempotency()", error.Message, StringComparison.Ordinal);
        Assert.Contains("[RequireIdempotentCall]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrpcServiceExcludedFromAGroupsConvention_StartsAndRunsEveryCall_WithoutTheGrpcPackage()
    {
        await using var server = await GrpcTestServer.StartAsync(
            grpcIdempotency: false,
            configureServices: services => services.AddIdempotency(),
            map: app =>
            {
                app.UseIdempotency();
                var group = app.MapGroup(string.Empty).RequireIdempotency();
                group.MapPost("/deposits", () => "ok");
                group.MapGrpcService<LedgerService>().DisableIdempotency();
            });

        await server.Client.DepositAsync(new DepositRequest { Account = "acc-s1", Amount = 1 }, GrpcTestServer.Key("k-s1"));
        await server.Client.DepositAsync(new DepositRequest { Account = "acc-s1", Amount = 1 }, GrpcTestServer.Key("k-s1"));

        Assert.Equal(2, server.State.Executions);
    }
}
