using Microsoft.Extensions.DependencyInjection;

namespace Idempotency;

/// <summary>Configures idempotency services; store packages extend it (<c>.AddRedisStore(...)</c>, <c>.AddPostgreSqlStore(...)</c>).</summary>
public interface IIdempotencyBuilder
{
    /// <summary>Gets the service collection being configured.</summary>
    IServiceCollection Services { get; }
}
