using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>Configures request deduplication (<c>services.AddIdempotency(options => ...)</c>).</summary>
public sealed class IdempotencyOptions
{
    /// <summary>Gets or sets the request header that carries the client's key.</summary>
    /// <value>The default is <c>Idempotency-Key</c>.</value>
    [HttpFieldName]
    public string HeaderName { get; set; } = IdempotencyDefaults.HeaderName;

    /// <summary>
    /// Gets or sets whether only the quoted Structured Field form (<c>"abc"</c>) is accepted. By default the bare
    /// form (<c>abc</c>) that many clients send is accepted too, and both name the same key.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool StrictKeyParsing { get; set; }

    /// <summary>Gets or sets the longest key accepted, in characters (1 to 1024).</summary>
    /// <value>The default is 255, as Stripe accepts.</value>
    [Int32Range(1, IdempotencyOptionsValidator.MaxKeyLengthLimit, "{0} must be between {2} and {3}; it is {1}.")]
    public int MaxKeyLength { get; set; } = IdempotencyDefaults.MaxKeyLength;

    /// <summary>
    /// Gets the names of request headers that, beyond the built-in ones, tell two requests apart (a tenant header,
    /// say): a retry with the same key and another value, or with the header added or dropped, gets 422 instead of
    /// the stored response. Names are case-insensitive and their order does not matter.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Every fingerprint already covers the method, the route pattern, the path, the query, the body, the media type
    /// and charset of <c>Content-Type</c> and the precondition headers (<c>If-Match</c>, <c>If-None-Match</c>,
    /// <c>If-Modified-Since</c>, <c>If-Unmodified-Since</c>). A header named here is covered as sent: its value
    /// trimmed, several fields joined with <c>", "</c>, empty distinct from absent. Naming <c>Content-Type</c> makes
    /// every media-type parameter count.
    /// </para>
    /// <para>
    /// A header the request does not carry changes nothing, so adding a name here leaves the records of requests
    /// without that header matching; requests that carry it get a new fingerprint, and a retry of one recorded before
    /// the change gets 422 until its record expires.
    /// </para>
    /// </remarks>
    /// <value>The default is empty.</value>
    public IList<string> FingerprintHeaders { get; } = [];

    /// <summary>
    /// Gets or sets how long a claim protects a key while its request runs. A request that outlives its lease can be
    /// run again by a retry, so set it above the slowest expected handler.
    /// </summary>
    /// <value>The default is 1 minute.</value>
    [MinimumDuration(1, "{0} must be positive; it is {1}.")]
    public TimeSpan LeaseDuration { get; set; } = IdempotencyDefaults.LeaseDuration;

    /// <summary>Gets or sets how long a completed response is kept and replayed. Retries after that run again.</summary>
    /// <value>The default is 24 hours.</value>
    [MinimumDuration(TimeSpan.TicksPerSecond, "{0} must be at least 1 second; it is {1}.")]
    public TimeSpan ResponseRetention { get; set; } = IdempotencyDefaults.Retention;

    /// <summary>
    /// Gets or sets the largest response body stored for replay, in bytes. A larger response still completes its key
    /// (the request never runs twice), and retries get a 410 problem saying the response was too large to replay. For a
    /// gRPC call (Idempotency.Grpc.AspNetCore) it bounds the whole stored outcome (message, status detail, headers and
    /// trailers), and retries of a larger one get <c>FAILED_PRECONDITION</c>.
    /// </summary>
    /// <value>The default is 1 MiB.</value>
    [Int32Range(0, int.MaxValue, "{0} must not be negative; it is {1}.")]
    public int MaxStoredBodySize { get; set; } = IdempotencyDefaults.MaxStoredBodySize;

    /// <summary>Gets or sets what a duplicate does while the original request is still running.</summary>
    /// <value>The default is <see cref="InFlightDuplicateHandling.Reject"/> (409 with <c>Retry-After</c>).</value>
    [DefinedEnumValue("{0} must be Reject or Wait; it is {1}.")]
    public InFlightDuplicateHandling InFlightDuplicates { get; set; } = InFlightDuplicateHandling.Reject;

    /// <summary>
    /// Gets or sets, with <see cref="InFlightDuplicateHandling.Wait"/>, how long a duplicate waits for the original to
    /// finish before it gets 409.
    /// </summary>
    /// <value>The default is 10 seconds.</value>
    [MinimumDuration(1, "{0} must be positive; it is {1}.")]
    public TimeSpan InFlightWaitTimeout { get; set; } = IdempotencyDefaults.InFlightWaitTimeout;

    /// <summary>
    /// Gets or sets whether endpoints where the key is optional (<c>.EnableIdempotency()</c>) run requests unprotected
    /// when the store cannot be reached. Endpoints that require a key always answer 503 instead.
    /// </summary>
    /// <value>The default is <see langword="false"/>: every keyed request answers 503 while the store is unavailable.</value>
    public bool AllowUnprotectedExecutionWhenStoreUnavailable { get; set; }

    /// <summary>
    /// Gets or sets who a key belongs to. The stored record is keyed by this scope and the client's key, so one
    /// client never receives another's response.
    /// </summary>
    /// <remarks>
    /// A resolver that returns <see langword="null"/> or empty for an authenticated caller refuses the request (500
    /// <c>scope-unresolved</c>): an authenticated caller never shares a scope with anyone. For an anonymous caller it
    /// means the anonymous scope, which every anonymous caller shares.
    /// </remarks>
    /// <value>
    /// The default, when <see langword="null"/>, is the first of <see cref="ScopeClaimTypes"/> that an authenticated
    /// identity of the user has, qualified by that claim's issuer; anonymous callers share the anonymous scope.
    /// </value>
    public Func<IdempotencyScopeArguments, ValueTask<string?>>? ScopeResolver { get; set; }

    /// <summary>
    /// Gets the claim types the default scope is taken from, in order of preference: the first that an authenticated
    /// identity of the user carries, with a non-empty value, names the scope, qualified by the claim's issuer so that the
    /// same user id from two identity providers never shares records. Identities that are not authenticated (one added
    /// by claims transformation, say) are never read; for each claim type the authenticated identities are tried in
    /// the principal's order. An authenticated user with none of them is refused with 500
    /// <c>scope-unresolved</c> and event 20 names the claim to add here.
    /// </summary>
    /// <value>
    /// The default is <see cref="System.Security.Claims.ClaimTypes.NameIdentifier"/> (where JWT bearer maps <c>sub</c>),
    /// then <c>sub</c>. Add <see cref="System.Security.Claims.ClaimTypes.Name"/> for API-key and cookie schemes that
    /// issue only a name.
    /// </value>
    [NoneBlank("{0} must name at least one claim type, and none may be empty.")]
    public IList<string> ScopeClaimTypes { get; } = [.. IdempotencyDefaults.ScopeClaimTypes];

    /// <summary>
    /// Gets or sets which outcomes are final and stored for replay. Others release the key so a retry runs again.
    /// </summary>
    /// <value>
    /// The default, when <see langword="null"/>, stores every status below 500 except 408, 425, 428 and 429, so 2xx and
    /// deterministic 4xx are replayed, while transient failures (5xx, 408, 425, 429), a 428 Precondition Required (the
    /// request was not carried out: the client is to send it again with If-Match, under the same key) and exceptions let
    /// a retry run.
    /// </value>
    public Func<IdempotencyOutcomeArguments, bool>? ShouldStoreResponse { get; set; }

    /// <summary>
    /// Gets or sets the secret of the keyed hashes (HMAC-SHA256) that the audit event carries instead of the raw key and
    /// scope. An operator who holds the secret can recompute the hash of a key a client reports and find its request in
    /// the logs; nobody else can reverse it. Keep it in configuration or a secret store, the same on every instance.
    /// </summary>
    /// <value>
    /// The default, when <see langword="null"/>, is a random secret per process: audit hashes still correlate the
    /// events of one instance, but cannot be recomputed from a key. When set, at least 16 characters.
    /// </value>
    [MinimumLengthWhenSet(IdempotencyDefaults.MinAuditHashSecretLength, "{0} must be at least {2} characters when set; it has {1}.")]
    public string? AuditHashSecret { get; set; }

    /// <summary>
    /// Gets or sets the prefix of the <c>type</c> URI of every problem response the library writes (idempotency,
    /// preconditions, mirroring): the type is this prefix followed by the problem's name (<see cref="IdempotencyProblemTypes"/>,
    /// <see cref="Preconditions.PreconditionProblemTypes"/>, <see cref="Mirroring.MirrorProblemTypes"/>).
    /// </summary>
    /// <value>
    /// The default is <c>https://github.com/idempotency-dotnet/idempotency/blob/main/docs/errors.md#</c>, the project's error reference, where each name is an anchor. Set your own
    /// (for example <c>https://api.example.com/problems/</c>) to point clients at your documentation.
    /// </value>
    /// <remarks>An absolute URI ending with <c>/</c> or <c>#</c>, so the name is a path segment or a fragment.</remarks>
    [AbsoluteUri]
    public string ProblemTypeBaseUri { get; set; } = IdempotencyProblemTypes.DefaultBaseUri;

    /// <summary>
    /// Gets the named policies, by name (case-insensitive): settings for the endpoints that name one
    /// (<c>.RequireIdempotency("payments")</c>, <c>[RequireIdempotency(PolicyName = "payments")]</c>). They bind from
    /// configuration too (<c>Idempotency:Policies:payments:LeaseDuration</c>). An endpoint that names a policy not
    /// registered here fails the host at start-up.
    /// </summary>
    /// <value>The default is empty.</value>
    public IDictionary<string, IdempotencyPolicy> Policies { get; } = new Dictionary<string, IdempotencyPolicy>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Adds the policy <paramref name="name"/>, or configures it further if it exists (bound from configuration, say):
    /// <c>options.AddPolicy("payments", p => p.LeaseDuration = TimeSpan.FromSeconds(30))</c>.
    /// </summary>
    /// <param name="name">The policy's name, as endpoints name it (case-insensitive).</param>
    /// <param name="configure">Sets the policy's values; those left unset fall back to these options.</param>
    /// <returns>These options.</returns>
    public IdempotencyOptions AddPolicy(string name, Action<IdempotencyPolicy> configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        if (!Policies.TryGetValue(name, out var policy))
        {
            policy = new IdempotencyPolicy();
            Policies[name] = policy;
        }

        configure(policy);
        return this;
    }

    // 425 Too Early (RFC 8470) has no StatusCodes constant.
    private const int TooEarlyStatusCode = 425;

    // 428 is not a failure that passes, but it says the request was not carried out and asks for it again with a
    // precondition: stored, it would refuse that resubmission (same key, now with If-Match) as a reuse of the key.
    internal static bool IsTransientStatus(int statusCode) =>
        statusCode >= StatusCodes.Status500InternalServerError
        || statusCode is StatusCodes.Status408RequestTimeout or TooEarlyStatusCode or StatusCodes.Status428PreconditionRequired
            or StatusCodes.Status429TooManyRequests;
}
