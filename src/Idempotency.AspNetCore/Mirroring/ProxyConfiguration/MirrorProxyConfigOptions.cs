using Idempotency.AspNetCore.Deduplication;

namespace Idempotency.AspNetCore.Mirroring.ProxyConfiguration;

/// <summary>What the proxy configurations exported by <see cref="MirrorSafetyReport"/> mirror, and where to.</summary>
public sealed class MirrorProxyConfigOptions
{
    /// <summary>Gets or sets the canary's data mode: which classes are mirrored.</summary>
    /// <value>The default is <see cref="MirrorDataMode.Shared"/>: only <see cref="MirrorSafetyClass.Safe"/> requests.</value>
    public MirrorDataMode Data { get; set; } = MirrorDataMode.Shared;

    /// <summary>
    /// Gets or sets where real traffic goes: the Istio destination host, or the nginx upstream name (or <c>address:port</c>).
    /// </summary>
    /// <value>The default is <c>primary</c>.</value>
    public string Primary { get; set; } = "primary";

    /// <summary>Gets or sets where copies go: the Istio mirror host, or the nginx upstream name (or <c>address:port</c>).</summary>
    /// <value>The default is <c>canary</c>.</value>
    public string Canary { get; set; } = "canary";

    /// <summary>Gets or sets the marker header the canary recognises copies by (its <see cref="MirroringOptions.HeaderName"/>).</summary>
    /// <value>The default is <c>X-Shadow-Request</c>.</value>
    public string MarkerHeaderName { get; set; } = MirroringDefaults.HeaderName;

    /// <summary>
    /// Gets or sets the value the proxy puts in the marker header of a copy: the canary's <see cref="MirroringOptions.Secret"/>
    /// when it has one. The report endpoint never fills it in from configuration.
    /// </summary>
    /// <value>The default is <c>1</c>.</value>
    public string MarkerValue { get; set; } = MirroringDefaults.UnsecuredMarkerValue;

    /// <summary>Gets or sets the idempotency key header (<see cref="IdempotencyOptions.HeaderName"/>), for routes mirrored only with a key.</summary>
    /// <value>The default is <c>Idempotency-Key</c>.</value>
    public string IdempotencyKeyHeaderName { get; set; } = IdempotencyDefaults.HeaderName;

    internal static MirrorProxyConfigOptions Validated(MirrorProxyConfigOptions? options)
    {
        options ??= new MirrorProxyConfigOptions();
        if (!Enum.IsDefined(options.Data))
        {
            throw new ArgumentException($"MirrorProxyConfigOptions.Data must be Shared or Isolated; it is {options.Data}.", nameof(options));
        }

        // Everything lands in configuration files: refuse what could break out of a value or a directive.
        CheckDestination(options.Primary, nameof(Primary));
        CheckDestination(options.Canary, nameof(Canary));
        CheckHeaderName(options.MarkerHeaderName, nameof(MarkerHeaderName));
        CheckHeaderName(options.IdempotencyKeyHeaderName, nameof(IdempotencyKeyHeaderName));
        if (string.IsNullOrEmpty(options.MarkerValue) || !options.MarkerValue.All(static c => c is > ' ' and < '\u007f' and not ('"' or '\'' or '\\' or '$' or ';' or '{' or '}' or '#')))
        {
            throw new ArgumentException("MirrorProxyConfigOptions.MarkerValue must be 1 or more visible ASCII characters other than quotes, '\\', '$', ';', '{', '}' and '#'.", nameof(options));
        }

        return options;
    }

    private static void CheckDestination(string? value, string name)
    {
        if (string.IsNullOrEmpty(value) || !value.All(static c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or ':'))
        {
            throw new ArgumentException($"MirrorProxyConfigOptions.{name} must be a host, an upstream name or address:port (letters, digits, '-', '.', '_', ':'); '{value}' is not.", name);
        }
    }

    private static void CheckHeaderName(string? value, string name)
    {
        if (string.IsNullOrEmpty(value) || !value.All(static c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new ArgumentException($"MirrorProxyConfigOptions.{name} must be a header name of letters, digits, '-' and '_'; '{value}' is not.", name);
        }
    }
}
