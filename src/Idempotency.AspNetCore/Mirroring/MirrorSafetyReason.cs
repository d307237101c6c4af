namespace Idempotency.AspNetCore.Mirroring;

/// <summary>Why a request or endpoint received its <see cref="MirrorSafetyClass"/>.</summary>
public enum MirrorSafetyReason
{
    /// <summary>GET, HEAD, OPTIONS and TRACE are safe methods (RFC 9110 section 9.2.1).</summary>
    SafeMethod,

    /// <summary>The endpoint is marked <c>.MirrorSafe()</c> or <c>[MirrorSafe]</c>.</summary>
    MarkedMirrorSafe,

    /// <summary>PUT and DELETE are idempotent methods (RFC 9110 section 9.2.2).</summary>
    IdempotentMethod,

    /// <summary>The endpoint is marked <c>.IdempotentByDesign()</c> or <c>[IdempotentByDesign]</c>.</summary>
    MarkedIdempotent,

    /// <summary>The endpoint requires an <c>Idempotency-Key</c> (and the request, when classified, carries one).</summary>
    IdempotencyKeyRequired,

    /// <summary>The endpoint honours an optional <c>Idempotency-Key</c> and the request carries one.</summary>
    IdempotencyKeySent,

    /// <summary>The endpoint requires an <c>Idempotency-Key</c> but the request carries none, so nothing deduplicates it.</summary>
    IdempotencyKeyMissing,

    /// <summary>The endpoint requires a precondition (and the request, when classified, carries one).</summary>
    PreconditionRequired,

    /// <summary>The endpoint requires a precondition but the request carries none.</summary>
    PreconditionMissing,

    /// <summary>The endpoint is marked <c>.NotMirrorSafe()</c> or <c>[NotMirrorSafe]</c>.</summary>
    MarkedNotMirrorSafe,

    /// <summary>POST, PATCH and other methods are neither safe nor idempotent.</summary>
    UnsafeMethod,

    /// <summary>The endpoint accepts any method, unsafe ones included.</summary>
    AnyMethod,

    /// <summary>The request asks to upgrade the connection (WebSockets, HTTP/2 extended CONNECT): a copy cannot be replayed.</summary>
    Upgrade,

    /// <summary>CONNECT opens a tunnel: a copy cannot be replayed.</summary>
    Connect,
}
