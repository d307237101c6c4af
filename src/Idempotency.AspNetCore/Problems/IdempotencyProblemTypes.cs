namespace Idempotency.AspNetCore;

/// <summary>
/// The stable <c>type</c> of each problem response the middleware writes, appended to
/// <see cref="IdempotencyOptions.ProblemTypeBaseUri"/>. Clients can switch on them; they never change.
/// </summary>
public static class IdempotencyProblemTypes
{
    /// <summary>The default <see cref="IdempotencyOptions.ProblemTypeBaseUri"/>.</summary>
    public const string DefaultBaseUri = "https://idempotency.dev/problems/";

    /// <summary>400: the endpoint requires an <c>Idempotency-Key</c> and the request has none.</summary>
    public const string KeyMissing = "key-missing";

    /// <summary>400: the key is not a valid Structured Field string or bare key, is empty, or has invalid characters.</summary>
    public const string KeyMalformed = "key-malformed";

    /// <summary>400: the key is longer than <see cref="IdempotencyOptions.MaxKeyLength"/>.</summary>
    public const string KeyTooLong = "key-too-long";

    /// <summary>400: the header was sent more than once.</summary>
    public const string KeyRepeated = "key-repeated";

    /// <summary>422: the key was already used with a different request (body, path, endpoint, precondition or content type).</summary>
    public const string KeyReused = "key-reused";

    /// <summary>409: the original request with this key is still being processed; retry after <c>Retry-After</c>.</summary>
    public const string RequestInFlight = "request-in-flight";

    /// <summary>410: the request with this key completed, but its response was too large to store for replay.</summary>
    public const string ResponseTooLarge = "response-too-large";

    /// <summary>503: the idempotency store could not be reached, so the request was not run; retry later.</summary>
    public const string StoreUnavailable = "store-unavailable";

    /// <summary>503: the idempotency store is full and refuses new keys until records expire; retry later.</summary>
    public const string StoreFull = "store-full";
}
