namespace Idempotency.AspNetCore.Preconditions;

/// <summary>
/// Endpoint metadata saying the endpoint accepts only conditional writes: an unsafe request (POST, PUT, PATCH,
/// DELETE...) without <c>If-Match</c> or <c>If-None-Match</c> gets 428 Precondition Required from
/// <c>app.UsePreconditions()</c>. Added by <c>.RequirePrecondition()</c> and <see cref="RequirePreconditionAttribute"/>.
/// </summary>
/// <remarks>
/// A write guarded by a precondition is applied at most once per version it names, so a duplicated copy of it (a
/// retry, or a mirrored request) fails softly with 412 instead of applying twice. Tools that classify endpoints
/// read this metadata to call such an endpoint conditional.
/// </remarks>
public interface IPreconditionMetadata;
