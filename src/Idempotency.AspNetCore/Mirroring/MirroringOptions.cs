namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// Configures how this instance recognises mirrored copies (shadow traffic) and guards against their effects
/// (<c>services.AddMirroring(options => ...)</c>). Nothing is assumed: an instance is a
/// <see cref="MirrorRole.Primary"/> that trusts no marker until it is configured as a <see cref="MirrorRole.Canary"/>.
/// </summary>
public sealed class MirroringOptions
{
    /// <summary>Gets or sets whether this instance serves real traffic or receives mirrored copies.</summary>
    /// <value>The default is <see cref="MirrorRole.Primary"/>: markers are ignored and (see <see cref="StripMarkerOnPrimary"/>) removed.</value>
    [DefinedEnumValue("{0} must be Primary or Canary; it is {1}.")]
    public MirrorRole Role { get; set; } = MirrorRole.Primary;

    /// <summary>Gets or sets, on a canary, whether it works on the primary's data or on its own.</summary>
    /// <value>
    /// The default is <see cref="MirrorDataMode.Shared"/>: only <see cref="MirrorSafetyClass.Safe"/> copies run,
    /// every other copy is suppressed.
    /// </value>
    [DefinedEnumValue("{0} must be Shared or Isolated; it is {1}.")]
    public MirrorDataMode Data { get; set; } = MirrorDataMode.Shared;

    /// <summary>
    /// Gets or sets the request header that marks a copy. The proxy adds it to the copy only (nginx:
    /// <c>proxy_set_header</c> in the mirror location; Envoy 1.36+: <c>request_headers_mutations</c> on the mirror policy).
    /// </summary>
    /// <value>The default is <c>X-Shadow-Request</c>.</value>
    [HttpFieldName]
    public string HeaderName { get; set; } = MirroringDefaults.HeaderName;

    /// <summary>
    /// Gets or sets the value the marker header must carry for a request to count as a copy, compared in constant time.
    /// When set, a request on a canary whose marker carries another value is refused with 403 and never runs.
    /// Use a long random value (32 characters or more) that only the proxy knows.
    /// </summary>
    /// <value>The default is <see langword="null"/>: any value of the marker header marks a copy.</value>
    [VisibleAsciiWhenSet("{0} must be null or 1 or more visible ASCII characters (no spaces); the value set is not.")]
    public string? Secret { get; set; }

    /// <summary>
    /// Gets the base hosts whose Envoy shadow form (<c>orders-shadow</c>, <c>orders-shadow:8080</c>) marks a copy on a
    /// canary. The suffix is matched case-insensitively, before the port. A Kubernetes short name and its longer forms
    /// match each other: <c>orders</c> matches <c>orders.default.svc.cluster.local-shadow</c>.
    /// </summary>
    /// <value>The default is empty: hosts mark no copy unless <see cref="AcceptAnyShadowHost"/> is set.</value>
    public IList<string> ShadowHosts { get; } = [];

    /// <summary>Gets or sets whether any host ending in <c>-shadow</c> (before the port) marks a copy on a canary.</summary>
    /// <value>The default is <see langword="false"/>: only the <see cref="ShadowHosts"/> do.</value>
    public bool AcceptAnyShadowHost { get; set; }

    /// <summary>
    /// Gets or sets whether a primary removes the marker header from requests before the application sees them, so
    /// nothing downstream (handlers, outbound calls, logs) can mistake a spoofed marker for a copy.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool StripMarkerOnPrimary { get; set; } = true;

    /// <summary>
    /// Gets or sets whether the guard on a canary only logs and counts what it would suppress or refuse, and lets
    /// everything run. Use it to learn what a canary would do before enforcing; never with shared data in production.
    /// Idempotency keys of copies are still kept apart from the originals'.
    /// </summary>
    /// <value>The default is <see langword="false"/>: copies that are not mirror-safe are suppressed.</value>
    public bool ReportOnly { get; set; }
}
