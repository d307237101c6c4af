using Microsoft.Extensions.Options;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// Validates <see cref="IdempotencyOptions"/> at start-up, so a bad setting fails the host at boot: the data annotations
/// through the source-generated <see cref="IdempotencyOptionsAnnotationsValidator"/>, then each entry of
/// <see cref="IdempotencyOptions.FingerprintHeaders"/>, one failure per bad entry, and the ending of
/// <see cref="IdempotencyOptions.ProblemTypeBaseUri"/>, which annotations cannot say, and each named policy by the same
/// rules as the global options, its messages naming the policy (<c>IdempotencyOptions.Policies[payments].LeaseDuration</c>).
/// </summary>
internal sealed class IdempotencyOptionsValidator : IValidateOptions<IdempotencyOptions>
{
    internal const int MaxKeyLengthLimit = 1024;

    private readonly IdempotencyOptionsAnnotationsValidator _annotations = new();
    private readonly IdempotencyPolicyAnnotationsValidator _policyAnnotations = new();

    public ValidateOptionsResult Validate(string? name, IdempotencyOptions options)
    {
        var result = new ValidateOptionsResultBuilder();
        result.AddResult(_annotations.Validate(name, options));
        ValidateHeaders(result, "IdempotencyOptions", options.FingerprintHeaders);
        foreach (var (policyName, policy) in options.Policies)
        {
            var prefix = $"IdempotencyOptions.Policies[{policyName}]";
            if (string.IsNullOrWhiteSpace(policyName))
            {
                result.AddError("IdempotencyOptions.Policies must not hold a policy with an empty name.");
            }

            if (policy is null)
            {
                result.AddError($"{prefix} must not be null.");
                continue;
            }

            result.AddResult(_policyAnnotations.Validate(prefix, policy));
            ValidateHeaders(result, prefix, policy.FingerprintHeaders);
            foreach (var member in policy.FingerprintExcludedJsonMembers)
            {
                if (!JsonMemberPaths.IsValid(member))
                {
                    result.AddError($"{prefix}.FingerprintExcludedJsonMembers must hold member paths such as 'sentAt' or 'meta.sentAt' (names separated by '.', none empty); '{member}' is not.");
                }
            }
        }

        if (Uri.TryCreate(options.ProblemTypeBaseUri, UriKind.Absolute, out _) && !options.ProblemTypeBaseUri.EndsWith('/') && !options.ProblemTypeBaseUri.EndsWith('#'))
        {
            result.AddError($"IdempotencyOptions.ProblemTypeBaseUri must end with '/' or '#', so a problem's name follows it as a path segment or a fragment; '{options.ProblemTypeBaseUri}' does not.");
        }

        return result.Build();
    }

    private static void ValidateHeaders(ValidateOptionsResultBuilder result, string owner, IList<string> headers)
    {
        foreach (var header in headers)
        {
            if (!HttpFieldNames.IsValid(header))
            {
                result.AddError($"{owner}.FingerprintHeaders must hold valid HTTP header names; '{header}' is not.");
            }
        }
    }
}

/// <summary>Validates the data annotations of <see cref="IdempotencyOptions"/> (source-generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class IdempotencyOptionsAnnotationsValidator : IValidateOptions<IdempotencyOptions>;

/// <summary>Validates the data annotations of an <see cref="IdempotencyPolicy"/> (source-generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class IdempotencyPolicyAnnotationsValidator : IValidateOptions<IdempotencyPolicy>;
