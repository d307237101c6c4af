using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Idempotency.EntityFrameworkCore.Tests.DependencyInjection;

public sealed class UseEntityFrameworkCoreTests
{
    [Fact]
    public void Options_VerifyTheContextOnStartup_ByDefault() =>
        Assert.True(new EntityFrameworkCoreIdempotencyOptions().VerifyContextOnStartup);

    [Fact]
    public void UseEntityFrameworkCore_RegistersTheFactory_TheExecutorAndTheIdempotentExecutor()
    {
        using var services = Build<LedgerDbContext>(verify: true);
        using var scope = services.CreateScope();

        Assert.Equal(typeof(LedgerDbContext), services.GetRequiredService<EntityFrameworkCoreIdempotencyUnitOfWorkFactory>().ContextType);
        Assert.NotNull(services.GetRequiredService<IdempotentExecutor>());
        var executor = scope.ServiceProvider.GetRequiredService<EntityFrameworkCoreIdempotentExecutor<LedgerDbContext>>();
        Assert.Same(scope.ServiceProvider.GetRequiredService<LedgerDbContext>(), executor.Context);
        Assert.True(services.GetRequiredService<IOptions<EntityFrameworkCoreIdempotencyOptions>>().Value.VerifyContextOnStartup);
    }

    [Fact]
    public async Task Startup_Fails_WhenTheModelLacksTheRecordsTable()
    {
        using var host = Host(verify: true);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("modelBuilder.AddIdempotencyRecords()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Startup_DoesNotCheck_WhenVerificationIsOff()
    {
        using var host = Host(verify: false);

        await host.StartAsync();
        await host.StopAsync();
    }

    [Fact]
    public async Task Startup_Succeeds_ForAContextThatMapsTheRecordsTable()
    {
        var builder = new HostApplicationBuilder();
        builder.Services.AddDbContext<LedgerDbContext>(o => EfCoreFixture.Configure(o, "Host=127.0.0.1;Port=1"));
        builder.Services.AddIdempotentExecutor().UseEntityFrameworkCore<LedgerDbContext>();
        using var host = builder.Build();

        // Touches no database: the port is closed.
        await host.StartAsync();
        await host.StopAsync();
    }

    private static IHost Host(bool verify)
    {
        var builder = new HostApplicationBuilder();
        builder.Services.AddDbContext<ContextWithoutRecords>(o => o.UseNpgsql("Host=127.0.0.1;Port=1"));
        builder.Services.AddIdempotentExecutor().UseEntityFrameworkCore<ContextWithoutRecords>(o => o.VerifyContextOnStartup = verify);
        return builder.Build();
    }

    private static ServiceProvider Build<TContext>(bool verify)
        where TContext : DbContext =>
        new ServiceCollection()
            .AddLogging()
            .AddDbContext<TContext>(o => o.UseNpgsql("Host=127.0.0.1;Port=1"))
            .AddIdempotentExecutor()
            .UseEntityFrameworkCore<TContext>(o => o.VerifyContextOnStartup = verify)
            .Services
            .BuildServiceProvider();
}
