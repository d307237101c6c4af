namespace Idempotency.Core.Tests.ConditionalWrites;

/// <summary>Edge cases of the in-memory conditional-write stores found in review.</summary>
public sealed class InMemoryConditionalWriteEdgeCaseTests
{
    [Fact]
    public async Task AppendIfLast_KeepsNothing_WhenItRefusesAnAppendToAStreamThatHasNoEntry()
    {
        // Every stream exists implicitly, so a client can name any stream with a wrong expected sequence
        // (If-Match: "5" on /accounts/{anything}/entries): a refusal must not leave state behind, or each one grows
        // the process's memory for good.
        var store = new InMemoryAppendOnlyStreamStore();

        for (var i = 0; i < 100; i++)
        {
            var result = await store.AppendIfLastAsync($"stream-{i}", 5, "x"u8.ToArray(), CancellationToken.None);
            Assert.Equal(ConditionalWriteResult.VersionConflict(0), result);
        }

        Assert.Equal(0, store.StreamsHeld);
    }

    [Fact]
    public async Task AppendIfLast_StillAppends_AfterARefusalOnTheSameStream()
    {
        var store = new InMemoryAppendOnlyStreamStore();
        var ct = CancellationToken.None;

        Assert.Equal(ConditionalWriteResult.VersionConflict(0), await store.AppendIfLastAsync("ledger", 1, "a"u8.ToArray(), ct));
        Assert.Equal(ConditionalWriteResult.Applied(1), await store.AppendIfLastAsync("ledger", 0, "b"u8.ToArray(), ct));
        Assert.Equal(ConditionalWriteResult.Applied(2), await store.AppendIfLastAsync("ledger", 1, ReadOnlyMemory<byte>.Empty, ct));

        var entries = await store.ReadAsync("ledger", 1, 10, ct);
        Assert.Equal([1L, 2L], entries.Select(e => e.Sequence));
        Assert.Equal("b"u8.ToArray(), entries[0].Payload.ToArray());
        Assert.True(entries[1].Payload.IsEmpty);
        Assert.Equal(1, store.StreamsHeld);
    }
}
