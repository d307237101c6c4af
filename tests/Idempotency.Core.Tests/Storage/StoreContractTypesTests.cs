namespace Idempotency.Core.Tests.Storage;

public sealed class StoreContractTypesTests
{
    private static readonly byte[] s_fingerprint = new byte[32];

    [Fact]
    public void ClaimRequest_Scope_IsEmptyByDefault_AndKeptWhenGiven()
    {
        var anonymous = new IdempotencyClaimRequest("k", s_fingerprint, "owner", TimeSpan.FromMinutes(1));
        var scoped = new IdempotencyClaimRequest("k", s_fingerprint, "owner", TimeSpan.FromMinutes(1), "tenant-1");

        Assert.Equal(string.Empty, anonymous.Scope);
        Assert.Equal("tenant-1", scoped.Scope);
    }

    [Fact]
    public void ClaimRequest_RejectsANullScope()
    {
        var error = Assert.Throws<ArgumentNullException>(() => new IdempotencyClaimRequest("k", s_fingerprint, "owner", TimeSpan.FromMinutes(1), null!));

        Assert.Equal("scope", error.ParamName);
    }

    [Fact]
    public void ScopeQuotaExceeded_IsAStoreException_CarryingItsRetryAfter()
    {
        var exception = new IdempotencyScopeQuotaExceededException("over its share", TimeSpan.FromSeconds(42));

        Assert.IsAssignableFrom<IdempotencyStoreException>(exception);
        Assert.Equal(TimeSpan.FromSeconds(42), exception.RetryAfter);
        Assert.Equal("over its share", exception.Message);
        Assert.Equal(TimeSpan.Zero, new IdempotencyScopeQuotaExceededException("m", TimeSpan.FromSeconds(-3)).RetryAfter);
    }

    [Fact]
    public void ScopeQuotaExceeded_StandardConstructors_AskForOneSecond()
    {
        var inner = new InvalidOperationException();

        Assert.Equal(TimeSpan.FromSeconds(1), new IdempotencyScopeQuotaExceededException().RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(1), new IdempotencyScopeQuotaExceededException("m").RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(1), new IdempotencyScopeQuotaExceededException("m", inner).RetryAfter);
        Assert.Same(inner, new IdempotencyScopeQuotaExceededException("m", inner).InnerException);
    }
}
