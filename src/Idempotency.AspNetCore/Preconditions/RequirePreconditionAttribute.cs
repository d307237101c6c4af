namespace Idempotency.AspNetCore.Preconditions;

/// <summary>
/// Accepts only conditional writes on the endpoint: an unsafe request without <c>If-Match</c> or
/// <c>If-None-Match</c> gets 428 Precondition Required. The same as <c>.RequirePrecondition()</c>; enforced by
/// <c>app.UsePreconditions()</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class RequirePreconditionAttribute : Attribute, IPreconditionMetadata;
