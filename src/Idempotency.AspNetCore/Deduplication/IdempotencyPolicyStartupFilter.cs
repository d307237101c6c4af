using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// Fails the host when it starts, before it serves a request, if an endpoint names an idempotency policy that
/// <see cref="IdempotencyOptions.Policies"/> does not hold: the request pipeline is being built then, with every
/// endpoint mapped (controllers' endpoints are built by this check, as the first request would build them).
/// </summary>
internal sealed class IdempotencyPolicyStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        next(app);
        if (app.ApplicationServices.GetService<EndpointDataSource>() is { } endpoints)
        {
            Validate(endpoints.Endpoints, app.ApplicationServices.GetRequiredService<IOptions<IdempotencyOptions>>().Value);
        }
    };

    internal static void Validate(IReadOnlyList<Endpoint> endpoints, IdempotencyOptions options)
    {
        var errors = new StringBuilder();
        foreach (var endpoint in endpoints)
        {
            // The nearest metadata is the one the middleware reads.
            if (IdempotencyDeclarations.Nearest(endpoint.Metadata) is { Requirement: not IdempotencyRequirement.Disabled, PolicyName: { } name }
                && !options.Policies.ContainsKey(name))
            {
                errors.AppendLine(UnknownPolicy(endpoint, name, options));
            }
        }

        if (errors.Length > 0)
        {
            throw new InvalidOperationException(errors.ToString().TrimEnd());
        }
    }

    internal static string UnknownPolicy(Endpoint endpoint, string policyName, IdempotencyOptions options) =>
        $"The endpoint '{endpoint.DisplayName}' requires the idempotency policy '{policyName}', which is not registered " +
        $"(registered: {(options.Policies.Count == 0 ? "none" : string.Join(", ", options.Policies.Keys.Order(StringComparer.OrdinalIgnoreCase).Select(static n => $"'{n}'")))}). " +
        $"Add it with services.AddIdempotency(o => o.AddPolicy(\"{policyName}\", policy => ...)), or correct the name.";
}
