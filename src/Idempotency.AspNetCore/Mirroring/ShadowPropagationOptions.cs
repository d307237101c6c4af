namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// Configures the outbound handler of one <see cref="HttpClient"/> (<c>.AddShadowPropagation(options => ...)</c>):
/// what it does with calls made while a canary handles a mirrored copy.
/// </summary>
public sealed class ShadowPropagationOptions
{
    /// <summary>
    /// Gets or sets whether this client may send unsafe requests (POST, PUT, PATCH, DELETE, ...) while handling a copy.
    /// Allow it only for a client whose target is isolated from production (a sandbox, a stub, the canary's own
    /// database service) or that recognises the marker and applies nothing.
    /// </summary>
    /// <value>The default is <see langword="false"/>: unsafe calls during a copy throw <see cref="ShadowCallBlockedException"/>.</value>
    public bool AllowUnsafeMethods { get; set; }

    /// <summary>
    /// Gets or sets the value of the marker header (<see cref="MirroringOptions.HeaderName"/>) added to calls made
    /// while handling a copy, so the called service can recognise them.
    /// </summary>
    /// <value>
    /// The default is <see langword="null"/>: <see cref="MirroringOptions.Secret"/> when one is set (add the handler only
    /// to clients that call your own services, since the secret travels with the call), otherwise <c>1</c>.
    /// </value>
    public string? MarkerValue { get; set; }
}
