using Microsoft.Extensions.Options;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// Validates <see cref="IdempotencyOptions"/> at start-up, so a bad setting fails the host at boot: the data annotations
/// through the source-generated <see cref="IdempotencyOptionsAnnotationsValidator"/>, then each entry of
/// <see cref="IdempotencyOptions.FingerprintHeaders"/>, one failure per bad entry, and the ending of
/// <see cref="IdempotencyOptions.ProblemTypeBaseUri"/>, which annotations cannot say.
/// </summary>
internal sealed class IdempotencyOptionsValidator : IValidateOptions<IdempotencyOptions>
{
    internal const int MaxKeyLengthLimit = 1024;

    private readonly IdempotencyOptionsAnnotationsValidator _annotations = new();

    public ValidateOptionsResult Validate(string? name, IdempotencyOptions options)
    {
        var result = new ValidateOptionsResultBuilder();
        result.AddResult(_annotations.Validate(name, options));
        foreach (var header in options.FingerprintHeaders)
        {
            if (!HttpFieldNames.IsValid(header))
            {
                result.AddError($"IdempotencyOptions.FingerprintHeaders must hold valid HTTP header names; '{header}' is not.");
            }
        }

        if (Uri.TryCreate(options.ProblemTypeBaseUri, UriKind.Absolute, out _) && !options.ProblemTypeBaseUri.EndsWith('/') && !options.ProblemTypeBaseUri.EndsWith('#'))
        {
            result.AddError($"IdempotencyOptions.ProblemTypeBaseUri must end with '/' or '#', so a problem's name follows it as a path segment or a fragment; '{options.ProblemTypeBaseUri}' does not.");
        }

        return result.Build();
    }
}

/// <summary>Validates the data annotations of <see cref="IdempotencyOptions"/> (source-generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class IdempotencyOptionsAnnotationsValidator : IValidateOptions<IdempotencyOptions>;
