using Microsoft.Extensions.DependencyInjection;

namespace Idempotency;

internal sealed class IdempotencyBuilder(IServiceCollection services) : IIdempotencyBuilder
{
    public IServiceCollection Services { get; } = services;
}
