namespace Idempotency.AspNetCore.Deduplication;

/// <summary>How an endpoint treats the <c>Idempotency-Key</c> header.</summary>
public enum IdempotencyRequirement
{
    /// <summary>A key is mandatory: a request without one is refused with 400 before the handler runs.</summary>
    Required,

    /// <summary>A key is honoured when present; a request without one runs as usual, unprotected.</summary>
    Optional,

    /// <summary>Keys are ignored: the endpoint opts out of a requirement set on its group.</summary>
    Disabled,
}
