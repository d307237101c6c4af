using Microsoft.Extensions.Options;

namespace Idempotency.AspNetCore.Mirroring;

/// <summary>Validates <see cref="MirroringOptions"/> at start-up, so a bad setting fails the host at boot.</summary>
internal sealed class MirroringOptionsValidator : IValidateOptions<MirroringOptions>
{
    public ValidateOptionsResult Validate(string? name, MirroringOptions options)
    {
        var failures = new List<string>();
        if (!Enum.IsDefined(options.Role))
        {
            failures.Add($"MirroringOptions.Role must be Primary or Canary; it is {options.Role}.");
        }

        if (!Enum.IsDefined(options.Data))
        {
            failures.Add($"MirroringOptions.Data must be Shared or Isolated; it is {options.Data}.");
        }

        if (!HttpFieldNames.IsValid(options.HeaderName))
        {
            failures.Add($"MirroringOptions.HeaderName must be a valid HTTP header name; '{options.HeaderName}' is not.");
        }

        // Never echo the secret: validation messages end up in start-up logs.
        if (options.Secret is not null && (options.Secret.Length == 0 || !options.Secret.All(static c => c is > ' ' and < '\u007f')))
        {
            failures.Add("MirroringOptions.Secret must be null or 1 or more visible ASCII characters (no spaces); the value set is not.");
        }

        foreach (var host in options.ShadowHosts)
        {
            if (!IsHostName(host))
            {
                failures.Add($"MirroringOptions.ShadowHosts must hold host names without port or '-shadow' suffix, such as 'orders' or 'orders.default.svc.cluster.local'; '{host}' is not.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsHostName(string? value) =>
        !string.IsNullOrEmpty(value)
        && value.All(static c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_')
        && !value.EndsWith(MirroringDefaults.ShadowHostSuffix, StringComparison.OrdinalIgnoreCase)
        && value[0] != '.' && value[^1] != '.';
}
