using Microsoft.Extensions.Options;

namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// Validates <see cref="MirroringOptions"/> at start-up, so a bad setting fails the host at boot: the data annotations
/// through the source-generated <see cref="MirroringOptionsAnnotationsValidator"/>, then each entry of
/// <see cref="MirroringOptions.ShadowHosts"/>, one failure per bad entry, which an annotation cannot say.
/// </summary>
internal sealed class MirroringOptionsValidator : IValidateOptions<MirroringOptions>
{
    private readonly MirroringOptionsAnnotationsValidator _annotations = new();

    public ValidateOptionsResult Validate(string? name, MirroringOptions options)
    {
        var result = new ValidateOptionsResultBuilder();
        result.AddResult(_annotations.Validate(name, options));
        foreach (var host in options.ShadowHosts)
        {
            if (!IsHostName(host))
            {
                result.AddError($"MirroringOptions.ShadowHosts must hold host names without port or '-shadow' suffix, such as 'orders' or 'orders.default.svc.cluster.local'; '{host}' is not.");
            }
        }

        return result.Build();
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
