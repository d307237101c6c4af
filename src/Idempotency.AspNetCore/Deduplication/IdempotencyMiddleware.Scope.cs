using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.AspNetCore.Deduplication;

internal sealed partial class IdempotencyMiddleware
{
    // Every anonymous caller shares this scope: endpoints that allow anonymous callers accept that, documented.
    private const string AnonymousScope = "";

    // ASP.NET Core's AuthorizationMiddleware marks each request it has evaluated with this item; EndpointMiddleware
    // reads the same key to refuse endpoints with authorization metadata that no authorization middleware saw.
    private const string AuthorizationMiddlewareInvokedKey = "__AuthorizationMiddlewareWithEndpointInvoked";

    /// <summary>
    /// The scope the key belongs to, or <see langword="null"/> when the request was refused (the problem is written):
    /// an authenticated caller without a scope, or a pipeline where authorization has not run yet. Both would put the
    /// caller in a scope shared with others, where a caller who learns another's key receives that caller's response.
    /// </summary>
    private async ValueTask<string?> ResolveScopeAsync(HttpContext context, Endpoint endpoint)
    {
        if (!context.Items.ContainsKey(AuthorizationMiddlewareInvokedKey) && await RequiresAuthorizationAsync(context, endpoint))
        {
            LogPipelineMisordered(_logger, RouteTemplate(endpoint));
            await _problems.PipelineMisorderedAsync(context);
            return null;
        }

        // DefaultHttpContext, every server's, keeps the user in IHttpAuthenticationFeature, and its User getter creates
        // an empty principal for a request nobody authenticated: there the feature is read. Any other implementation may
        // keep the user elsewhere, so it is asked for its User.
        var user = context is DefaultHttpContext
            ? FeatureAccess.Get<IHttpAuthenticationFeature>(context.Features)?.User
            : context.User;
        var authenticated = user is not null && IdempotencyScopeClaims.IsAuthenticated(user);
        var scope = _options.ScopeResolver is { } resolver
            ? await resolver(new IdempotencyScopeArguments(context))
            : authenticated ? IdempotencyScopeClaims.DefaultScope(user!, _options.ScopeClaimTypes) : null;
        if (!string.IsNullOrEmpty(scope))
        {
            return scope;
        }

        if (authenticated)
        {
            LogScopeUnresolved(_logger, RouteTemplate(endpoint), _options.ScopeResolver is null ? string.Join(", ", _options.ScopeClaimTypes) : "ScopeResolver");
            await _problems.ScopeUnresolvedAsync(context);
            return null;
        }

        return AnonymousScope;
    }

    // Whether the application registered authorization (AddAuthorization): without it no fallback policy can exist, and
    // a request need not ask its services for one (the first RequestServices use creates the request's scope).
    private readonly bool _authorizationPoliciesRegistered;

    private static bool AuthorizationPoliciesRegistered(IServiceProvider services) =>
        services.GetService<IServiceProviderIsService>() is not { } registrations || registrations.IsService(typeof(IAuthorizationPolicyProvider));

    // An endpoint requires authorization by its metadata, or, without any, by the fallback policy, which the
    // authorization middleware applies to every endpoint that has none. Asked only when authorization has not run.
    private async ValueTask<bool> RequiresAuthorizationAsync(HttpContext context, Endpoint endpoint)
    {
        if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null)
        {
            return false;
        }

        if (endpoint.Metadata.GetMetadata<IAuthorizeData>() is not null || endpoint.Metadata.GetMetadata<AuthorizationPolicy>() is not null)
        {
            return true;
        }

        return _authorizationPoliciesRegistered
            && context.RequestServices.GetService<IAuthorizationPolicyProvider>() is { } policies
            && await policies.GetFallbackPolicyAsync() is not null;
    }
}
