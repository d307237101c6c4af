namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// Marks a request that a canary recognised as a mirrored copy (shadow traffic), on <c>HttpContext.Features</c>.
/// Absent on a primary and for requests that are not copies. Handlers can check it to skip side effects the guard
/// cannot see, such as messages sent through a queue client.
/// </summary>
public interface IMirroredRequestFeature
{
    /// <summary>Gets how the copy was recognised.</summary>
    MirrorCopySignal Signal { get; }

    /// <summary>Gets the copy's class and its reason.</summary>
    MirrorClassification Classification { get; }

    /// <summary>Gets what the guard did with the copy.</summary>
    MirrorGuardAction Action { get; }
}
