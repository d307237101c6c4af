namespace Idempotency.AspNetCore.Mirroring;

/// <summary>Registered by <c>AddMirroring()</c>, so <c>UseMirrorGuard()</c> can tell whether it was called.</summary>
internal sealed class MirroringMarkerService;
