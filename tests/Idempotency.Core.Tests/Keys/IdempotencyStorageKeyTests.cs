namespace Idempotency.Core.Tests.Keys;

public sealed class IdempotencyStorageKeyTests
{
    [Fact]
    public void Create_LengthPrefixesTheScope()
    {
        Assert.Equal("5:alice:k1", IdempotencyStorageKey.Create("alice", "k1"));
        Assert.Equal("0::k1", IdempotencyStorageKey.Create("", "k1"));
    }

    [Fact]
    public void Create_NeverCollides_WhenTheBoundaryBetweenScopeAndKeyMoves()
    {
        // Without the length prefix, "a:b" + "c" and "a" + "b:c" would both be "a:b:c".
        Assert.NotEqual(IdempotencyStorageKey.Create("a:b", "c"), IdempotencyStorageKey.Create("a", "b:c"));
    }
}
