using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// Keeps the idempotency records of mirrored copies apart from the originals', so a copy can never claim the
/// primary's key, be replayed to a real client, or make the original see 409, even when both share one store.
/// </summary>
/// <remarks>Also compiled into Idempotency.Grpc.AspNetCore (a linked file), whose interceptor applies it to gRPC calls.</remarks>
internal static class MirroredCopyKeys
{
    // Real storage keys start with the scope's length (a digit), so no real key can ever start with this prefix.
    internal const string Prefix = "mirror-copy:";

    public static string Apply(HttpContext context, string storageKey) =>
        context.Features.Get<IMirroredRequestFeature>() is null ? storageKey : Prefix + storageKey;
}
