namespace Idempotency.Grpc.AspNetCore.Tests;

/// <summary>A store that cannot be reached: every call fails as a network client's would.</summary>
internal sealed class UnreachableStore : IIdempotencyStore
{
    public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken) =>
        throw new IdempotencyStoreException("The test store is unreachable.");

    public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken) =>
        throw new IdempotencyStoreException("The test store is unreachable.");

    public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) =>
        throw new IdempotencyStoreException("The test store is unreachable.");
}
