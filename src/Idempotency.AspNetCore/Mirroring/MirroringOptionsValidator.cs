using Idempotency.AspNetCore.Deduplication;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// Validates <see cref="MirroringOptions"/> at start-up, so a bad setting fails the host at boot: the data annotations
/// through the source-generated <see cref="MirroringOptionsAnnotationsValidator"/>, then a marker header that already
/// means something (the application's own <see cref="IdempotencyOptions.HeaderName"/> among them), then each entry of <see cref="MirroringOptions.ShadowHosts"/>, one failure per bad entry, which an
/// annotation cannot say.
/// </summary>
/// <param name="idempotencyOptions">
/// The application's idempotency options, whose key header the marker must not be named as; <see langword="null"/>
/// checks the default key header only.
/// </param>
internal sealed class MirroringOptionsValidator(IOptions<IdempotencyOptions>? idempotencyOptions = null) : IValidateOptions<MirroringOptions>
{
    // Request headers that HTTP or this library give a meaning to: as the marker, a primary would remove them from every
    // request (StripMarkerOnPrimary: the Idempotency-Key, and with it the protection, of every keyed request) and a
    // canary would take every request that carries them for a copy.
    private static readonly HashSet<string> s_headersWithAMeaning = new(StringComparer.OrdinalIgnoreCase)
    {
        IdempotencyDefaults.HeaderName,
        HeaderNames.Host,
        HeaderNames.Authorization,
        HeaderNames.ProxyAuthorization,
        HeaderNames.Cookie,
        HeaderNames.ContentType,
        HeaderNames.ContentLength,
        HeaderNames.ContentEncoding,
        HeaderNames.TransferEncoding,
        HeaderNames.Connection,
        HeaderNames.Upgrade,
        HeaderNames.Expect,
        HeaderNames.TE,
        HeaderNames.IfMatch,
        HeaderNames.IfNoneMatch,
        HeaderNames.IfModifiedSince,
        HeaderNames.IfUnmodifiedSince,
        HeaderNames.IfRange,
        HeaderNames.Range,
    };

    private readonly MirroringOptionsAnnotationsValidator _annotations = new();

    public ValidateOptionsResult Validate(string? name, MirroringOptions options)
    {
        var result = new ValidateOptionsResultBuilder();
        result.AddResult(_annotations.Validate(name, options));
        if (options.HeaderName is { } header && s_headersWithAMeaning.Contains(header))
        {
            result.AddError(
                $"MirroringOptions.HeaderName must be a header of its own, such as the default '{MirroringDefaults.HeaderName}'; '{header}' already means " +
                "something in HTTP or to this library: a primary would remove it from every request and a canary would take every request carrying it for a copy.");
        }
        else if (options.HeaderName is { } marker && string.Equals(marker, KeyHeaderName(), StringComparison.OrdinalIgnoreCase))
        {
            result.AddError(
                $"MirroringOptions.HeaderName must be a header of its own, such as the default '{MirroringDefaults.HeaderName}'; '{marker}' is IdempotencyOptions.HeaderName, " +
                "the header that carries the idempotency key: a primary would remove the key from every request. Give the marker another name.");
        }

        foreach (var host in options.ShadowHosts)
        {
            if (!IsHostName(host))
            {
                result.AddError($"MirroringOptions.ShadowHosts must hold host names without port or '-shadow' suffix, such as 'orders' or 'orders.default.svc.cluster.local'; '{host}' is not.");
            }
        }

        return result.Build();
    }

    // The key header the application configured (AddIdempotency), read when the host validates its options at start.
    // Invalid idempotency options fail the start with their own message: this check then has nothing to compare with.
    private string? KeyHeaderName()
    {
        try
        {
            return idempotencyOptions?.Value.HeaderName;
        }
        catch (OptionsValidationException)
        {
            return null;
        }
    }

    private static bool IsHostName(string? value) =>
        !string.IsNullOrEmpty(value)
        && value.All(static c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_')
        && !value.EndsWith(MirroringDefaults.ShadowHostSuffix, StringComparison.OrdinalIgnoreCase)
        && value[0] != '.' && value[^1] != '.';
}

/// <summary>Validates the data annotations of <see cref="MirroringOptions"/> (source-generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class MirroringOptionsAnnotationsValidator : IValidateOptions<MirroringOptions>;
