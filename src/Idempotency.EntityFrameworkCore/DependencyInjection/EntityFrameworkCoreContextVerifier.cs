using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Idempotency.EntityFrameworkCore;

/// <summary>Fails the host at start-up when the context's provider is not supported or its model lacks the records table.</summary>
internal sealed class EntityFrameworkCoreContextVerifier<TContext>(IServiceScopeFactory scopes, IOptions<EntityFrameworkCoreIdempotencyOptions> options) : IHostedService
    where TContext : DbContext
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.VerifyContextOnStartup)
        {
            using var scope = scopes.CreateScope();
            EntityFrameworkCoreIdempotencyUnitOfWork.Describe(scope.ServiceProvider.GetRequiredService<TContext>());
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
