using Microsoft.Extensions.Options;

namespace Idempotency.AspNetCore;

/// <summary>Validates <see cref="IdempotencyOptions"/> at start-up, so a bad setting fails the host at boot.</summary>
internal sealed class IdempotencyOptionsValidator : IValidateOptions<IdempotencyOptions>
{
    internal const int MaxKeyLengthLimit = 1024;

    public ValidateOptionsResult Validate(string? name, IdempotencyOptions options)
    {
        var failures = new List<string>();
        if (!HttpFieldNames.IsValid(options.HeaderName))
        {
            failures.Add($"IdempotencyOptions.HeaderName must be a valid HTTP header name; '{options.HeaderName}' is not.");
        }

        foreach (var header in options.FingerprintHeaders)
        {
            if (!HttpFieldNames.IsValid(header))
            {
                failures.Add($"IdempotencyOptions.FingerprintHeaders must hold valid HTTP header names; '{header}' is not.");
            }
        }

        if (options.MaxKeyLength is < 1 or > MaxKeyLengthLimit)
        {
            failures.Add($"IdempotencyOptions.MaxKeyLength must be between 1 and {MaxKeyLengthLimit}; it is {options.MaxKeyLength}.");
        }

        if (options.LeaseDuration <= TimeSpan.Zero)
        {
            failures.Add($"IdempotencyOptions.LeaseDuration must be positive; it is {options.LeaseDuration}.");
        }

        if (options.ResponseRetention < TimeSpan.FromSeconds(1))
        {
            failures.Add($"IdempotencyOptions.ResponseRetention must be at least 1 second; it is {options.ResponseRetention}.");
        }

        if (options.MaxStoredBodySize < 0)
        {
            failures.Add($"IdempotencyOptions.MaxStoredBodySize must not be negative; it is {options.MaxStoredBodySize}.");
        }

        if (options.InFlightWaitTimeout <= TimeSpan.Zero)
        {
            failures.Add($"IdempotencyOptions.InFlightWaitTimeout must be positive; it is {options.InFlightWaitTimeout}.");
        }

        if (!Enum.IsDefined(options.InFlightDuplicates))
        {
            failures.Add($"IdempotencyOptions.InFlightDuplicates must be Reject or Wait; it is {options.InFlightDuplicates}.");
        }

        if (options.ScopeClaimTypes.Count == 0 || options.ScopeClaimTypes.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add("IdempotencyOptions.ScopeClaimTypes must name at least one claim type, and none may be empty.");
        }

        if (options.AuditHashSecret is { Length: < IdempotencyDefaults.MinAuditHashSecretLength })
        {
            failures.Add($"IdempotencyOptions.AuditHashSecret must be at least {IdempotencyDefaults.MinAuditHashSecretLength} characters when set; it has {options.AuditHashSecret.Length}.");
        }

        if (!Uri.TryCreate(options.ProblemTypeBaseUri, UriKind.Absolute, out _))
        {
            failures.Add($"IdempotencyOptions.ProblemTypeBaseUri must be an absolute URI; '{options.ProblemTypeBaseUri}' is not.");
        }
        else if (!options.ProblemTypeBaseUri.EndsWith('/') && !options.ProblemTypeBaseUri.EndsWith('#'))
        {
            failures.Add($"IdempotencyOptions.ProblemTypeBaseUri must end with '/' or '#', so a problem's name follows it as a path segment or a fragment; '{options.ProblemTypeBaseUri}' does not.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
