namespace Idempotency;

/// <summary>Options of <see cref="IdempotencyKeyHandler"/>, the client side of idempotency keys.</summary>
public sealed class IdempotencyKeyHandlerOptions
{
    /// <summary>Gets or sets the request header that carries the key.</summary>
    /// <value>The default is <c>Idempotency-Key</c>.</value>
    public string HeaderName { get; set; } = IdempotencyProtocol.HeaderName;

    /// <summary>Gets the methods whose requests get a key. Compared case-insensitively.</summary>
    /// <value>The default is POST and PATCH, the methods that are neither safe nor idempotent.</value>
    public ISet<string> Methods { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "POST", "PATCH" };

    /// <summary>
    /// Gets or sets how a new key is made for a request that has none. The handler sends it as a quoted
    /// Structured Field string; it must be 1 to 255 visible ASCII characters other than <c>"</c>, <c>\</c>, <c>,</c> and <c>;</c>, or the
    /// request throws <see cref="InvalidOperationException"/>.
    /// </summary>
    /// <value>The default, when <see langword="null"/>, is a version 7 UUID (<see cref="Guid.CreateVersion7()"/>).</value>
    public Func<HttpRequestMessage, string>? KeyGenerator { get; set; }

    /// <summary>
    /// Gets or sets how many times a request is sent again after a 409 <c>request-in-flight</c> answer (the original
    /// with the same key was still running), waiting <c>Retry-After</c> each time. 0 returns the 409 at once.
    /// </summary>
    /// <value>The default is 3.</value>
    public int MaxInFlightRetries { get; set; } = 3;

    /// <summary>
    /// Gets or sets the longest <c>Retry-After</c> the handler honours; a longer one returns the 409 to the caller. It
    /// must not be negative (<see cref="Timeout.InfiniteTimeSpan"/> included); <see cref="TimeSpan.MaxValue"/> honours
    /// any <c>Retry-After</c> a timer can wait (about 49 days).
    /// </summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets the longest request body, in bytes, kept as it is sent so that a re-send after a 409
    /// <c>request-in-flight</c> carries the same bytes under the same key. Only bodies whose content may not write the
    /// same bytes twice are kept (a non-seekable <see cref="StreamContent"/>, <c>JsonContent</c>, a content of your own);
    /// byte array, string, form and seekable stream contents above this size are sent again as they are. A request whose
    /// body was not kept is never re-sent: the caller gets the 409. 0 keeps no body. It must not be negative.
    /// </summary>
    /// <value>The default is 65,536 (64 KiB).</value>
    public int MaxResendBufferSize { get; set; } = 64 * 1024;
}
