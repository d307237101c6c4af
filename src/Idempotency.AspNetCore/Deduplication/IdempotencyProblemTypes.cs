namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// The stable <c>type</c> of each problem response the middleware writes, appended to
/// <see cref="IdempotencyOptions.ProblemTypeBaseUri"/>. Clients can switch on them; they never change.
/// </summary>
public static class IdempotencyProblemTypes
{
    /// <summary>
    /// The default <see cref="IdempotencyOptions.ProblemTypeBaseUri"/>: the project's error reference, where each type
    /// is an anchor (<c>https://github.com/idempotency-dotnet/idempotency/blob/main/docs/errors.md#key-missing</c>), so a problem's <c>type</c> opens its documentation.
    /// </summary>
    public const string DefaultBaseUri = "https://github.com/idempotency-dotnet/idempotency/blob/main/docs/errors.md#";

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

    /// <summary>
    /// 500: the request is authenticated but no scope could be derived for it (none of
    /// <see cref="IdempotencyOptions.ScopeClaimTypes"/>, or <see cref="IdempotencyOptions.ScopeResolver"/> returned
    /// nothing). A server configuration error: the request was not run, and nothing was stored.
    /// </summary>
    public const string ScopeUnresolved = "scope-unresolved";

    /// <summary>
    /// 500: the endpoint requires authorization, but the request reached <c>UseIdempotency()</c> before
    /// <c>UseAuthorization()</c> evaluated it. A server configuration error: the request was not run, and nothing was stored.
    /// </summary>
    public const string PipelineMisordered = "pipeline-misordered";

    /// <summary>
    /// 500: the original request with this key failed after its response had started (or after it had committed part of its
    /// work itself), so its effect may have been applied. It is never run again with this key; check the resource before retrying the operation with a new key.
    /// </summary>
    public const string OutcomeUnknown = "outcome-unknown";

    /// <summary>
    /// 500: a request whose response is held back until its transaction commits (PostgreSQL transactional mode)
    /// produced a response larger than <see cref="IdempotencyOptions.MaxStoredBodySize"/>: the transaction was rolled
    /// back and nothing was applied.
    /// </summary>
    public const string ResponseTooLargeToCommit = "response-too-large-to-commit";

    /// <summary>
    /// 429: the caller's scope holds its whole share of the idempotency store (every record it may hold is still in
    /// flight), so the request was not run; <c>Retry-After</c> says when to retry with the same key. Other callers are
    /// not affected.
    /// </summary>
    public const string ScopeQuotaExceeded = "scope-quota-exceeded";

    /// <summary>The <c>type</c> URI of the problem <paramref name="name"/>: the one place every problem writer builds it.</summary>
    internal static string Uri(string baseUri, string name) => baseUri + name;
}
