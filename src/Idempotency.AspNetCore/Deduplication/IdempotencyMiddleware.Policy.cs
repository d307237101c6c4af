using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Deduplication;

internal sealed partial class IdempotencyMiddleware
{
    // The global settings, and each named policy over them: built with the middleware, never per request.
    private readonly IdempotencyEndpointPolicy _defaultPolicy;
    private readonly FrozenDictionary<string, IdempotencyEndpointPolicy> _policies;

    private static (IdempotencyEndpointPolicy Default, FrozenDictionary<string, IdempotencyEndpointPolicy> Named) BuildPolicies(IdempotencyOptions options) =>
        (new IdempotencyEndpointPolicy(options),
         options.Policies.ToFrozenDictionary(static named => named.Key, named => new IdempotencyEndpointPolicy(options, named.Value), StringComparer.OrdinalIgnoreCase));

    // Names are checked when the host starts (IdempotencyPolicyStartupFilter); an endpoint added to a data source
    // after that, with an unknown name, fails here, on its first keyed request, with the same message.
    private IdempotencyEndpointPolicy PolicyFor(Endpoint endpoint, string? policyName) =>
        policyName is null ? _defaultPolicy
        : _policies.TryGetValue(policyName, out var policy) ? policy
        : throw new InvalidOperationException(IdempotencyPolicyStartupFilter.UnknownPolicy(endpoint, policyName, _options));
}
