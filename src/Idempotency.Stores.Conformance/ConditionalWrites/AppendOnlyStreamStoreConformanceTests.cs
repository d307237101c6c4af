using System.Text;

namespace Idempotency.Stores.Conformance.ConditionalWrites;

/// <summary>
/// The behaviour every <see cref="IAppendOnlyStreamStore"/> must have. A store's test project inherits this class and
/// supplies the store under test. Each test uses streams of its own, so one store may serve every test.
/// </summary>
public abstract class AppendOnlyStreamStoreConformanceTests
{
    /// <summary>Gets the store under test.</summary>
    protected abstract IAppendOnlyStreamStore Store { get; }

    /// <summary>Gets how many writers race for the same last entry in the concurrency test.</summary>
    protected virtual int ConcurrentWriters => 32;

    /// <summary>A stream nobody appended to is empty, with last sequence 0.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task NewStream_IsEmptyWithLastSequenceZero()
    {
        var stream = NewStream();

        Assert.Equal(0, await Store.GetLastSequenceAsync(stream, default));
        Assert.Empty(await Store.ReadAsync(stream, 1, 10, default));
    }

    /// <summary>Appending to an empty stream expecting 0 appends entry 1.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task AppendIfLast_AppendsEntry1_WhenStreamIsEmptyAndExpectedLastIsZero()
    {
        var stream = NewStream();

        var result = await Store.AppendIfLastAsync(stream, 0, Payload("opening deposit"), default);

        Assert.Equal(ConditionalWriteResult.Applied(1), result);
        Assert.Equal(1, await Store.GetLastSequenceAsync(stream, default));
        var entry = Assert.Single(await Store.ReadAsync(stream, 1, 10, default));
        Assert.Equal(1, entry.Sequence);
        Assert.Equal("opening deposit", Text(entry.Payload));
    }

    /// <summary>Appending expecting the last sequence N appends entry N + 1.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task AppendIfLast_AppendsEntryNPlus1_WhenTheLastEntryIsN()
    {
        var stream = NewStream();
        await AppendAsync(stream, 3);

        var result = await Store.AppendIfLastAsync(stream, 3, Payload("entry 4"), default);

        Assert.Equal(ConditionalWriteResult.Applied(4), result);
        Assert.Equal(4, await Store.GetLastSequenceAsync(stream, default));
    }

    /// <summary>Appending with a stale expected sequence is a conflict that reports the last sequence and appends nothing.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task AppendIfLast_ReturnsConflictWithTheLastSequence_AndAppendsNothing_WhenExpectedLastIsStale()
    {
        var stream = NewStream();
        await AppendAsync(stream, 3);

        var result = await Store.AppendIfLastAsync(stream, 2, Payload("late"), default);

        Assert.Equal(ConditionalWriteResult.VersionConflict(3), result);
        var entries = await Store.ReadAsync(stream, 1, 10, default);
        Assert.Equal([1L, 2L, 3L], entries.Select(e => e.Sequence));
        Assert.DoesNotContain(entries, e => Text(e.Payload) == "late");
    }

    /// <summary>Appending expecting a sequence past the last is a conflict.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task AppendIfLast_ReturnsConflict_WhenExpectedLastIsAhead()
    {
        var stream = NewStream();
        await AppendAsync(stream, 1);

        var result = await Store.AppendIfLastAsync(stream, 5, Payload("gap"), default);

        Assert.Equal(ConditionalWriteResult.VersionConflict(1), result);
        Assert.Equal(1, await Store.GetLastSequenceAsync(stream, default));
    }

    /// <summary>Appending to an empty stream expecting another sequence than 0 is a conflict.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task AppendIfLast_ReturnsConflict_WhenTheStreamIsEmptyAndExpectedLastIsNot()
    {
        var stream = NewStream();

        var result = await Store.AppendIfLastAsync(stream, 563, Payload("x"), default);

        Assert.Equal(ConditionalWriteResult.VersionConflict(0), result);
        Assert.Equal(0, await Store.GetLastSequenceAsync(stream, default));
    }

    /// <summary>An append delivered twice is applied once; the duplicate is a conflict.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task AppendIfLast_AppliesADuplicatedAppendOnce()
    {
        var stream = NewStream();
        await AppendAsync(stream, 2);

        var original = await Store.AppendIfLastAsync(stream, 2, Payload("withdraw 100.00"), default);
        var duplicate = await Store.AppendIfLastAsync(stream, 2, Payload("withdraw 100.00"), default);

        Assert.Equal(ConditionalWriteResult.Applied(3), original);
        Assert.Equal(ConditionalWriteResult.VersionConflict(3), duplicate);
        Assert.Single(await Store.ReadAsync(stream, 1, 10, default), e => Text(e.Payload) == "withdraw 100.00");
    }

    /// <summary>Reading returns the entries in order, from the sequence given, at most as many as asked.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Read_ReturnsEntriesInOrder_FromTheGivenSequence_AtMostMaxCount()
    {
        var stream = NewStream();
        await AppendAsync(stream, 5);

        var middle = await Store.ReadAsync(stream, 2, 3, default);
        var tail = await Store.ReadAsync(stream, 4, 100, default);
        var past = await Store.ReadAsync(stream, 6, 10, default);

        Assert.Equal([2L, 3L, 4L], middle.Select(e => e.Sequence));
        Assert.Equal(["entry 2", "entry 3", "entry 4"], middle.Select(e => Text(e.Payload)));
        Assert.Equal([4L, 5L], tail.Select(e => e.Sequence));
        Assert.Empty(past);
    }

    /// <summary>Empty and binary payloads are kept exactly.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Entries_KeepEmptyAndBinaryPayloadsExactly()
    {
        var stream = NewStream();
        byte[] binary = [0, 255, 10, 13];

        await Store.AppendIfLastAsync(stream, 0, ReadOnlyMemory<byte>.Empty, default);
        await Store.AppendIfLastAsync(stream, 1, binary, default);
        var entries = await Store.ReadAsync(stream, 1, 10, default);

        Assert.True(entries[0].Payload.IsEmpty);
        Assert.Equal(binary, entries[1].Payload.ToArray());
    }

    /// <summary>Appending to one stream leaves every other stream as it was.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Streams_AreIndependentOfEachOther()
    {
        var a = NewStream();
        var b = NewStream();
        await AppendAsync(a, 2);

        Assert.Equal(0, await Store.GetLastSequenceAsync(b, default));
        Assert.Equal(ConditionalWriteResult.Applied(1), await Store.AppendIfLastAsync(b, 0, Payload("b1"), default));
        Assert.Equal(2, await Store.GetLastSequenceAsync(a, default));
    }

    /// <summary>A negative expected sequence throws <see cref="ArgumentOutOfRangeException"/>.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task AppendIfLast_Throws_WhenExpectedLastIsNegative()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.AppendIfLastAsync(NewStream(), -1, Payload("x"), default));
    }

    /// <summary>Reading from a sequence below 1, or at most 0 entries, throws <see cref="ArgumentOutOfRangeException"/>.</summary>
    /// <param name="fromSequence">The first sequence to read.</param>
    /// <param name="maxCount">The most entries to read.</param>
    /// <returns>A task that completes when the test has run.</returns>
    [Theory]
    [InlineData(0, 10)]
    [InlineData(1, 0)]
    public async Task Read_Throws_WhenTheRangeIsInvalid(long fromSequence, int maxCount)
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.ReadAsync(NewStream(), fromSequence, maxCount, default));
    }

    /// <summary>Of many writers appending after the same entry at once exactly one wins; the others get a conflict with the winner's sequence.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task AppendIfLast_LetsExactlyOneOfManyConcurrentWritersWin_AndTellsTheOthersTheWinnersSequence()
    {
        var stream = NewStream();
        await AppendAsync(stream, 3);

        var results = await Race.RunAsync(ConcurrentWriters, writer => Store.AppendIfLastAsync(stream, 3, Payload($"writer-{writer}"), default));
        var appended = await Store.ReadAsync(stream, 4, 100, default);

        var winner = Assert.Single(results, r => r.Result.IsApplied);
        Assert.Equal(ConditionalWriteResult.Applied(4), winner.Result);
        Assert.All(results.Where(r => !r.Result.IsApplied), r => Assert.Equal(ConditionalWriteResult.VersionConflict(4), r.Result));
        var entry = Assert.Single(appended);
        Assert.Equal(4, entry.Sequence);
        Assert.Equal($"writer-{winner.Writer}", Text(entry.Payload));
    }

    /// <summary>Creates a stream id no other test uses.</summary>
    /// <returns>The stream id.</returns>
    protected static string NewStream() => "stream-" + Guid.NewGuid().ToString("N");

    private async Task AppendAsync(string stream, int count)
    {
        for (var sequence = 1; sequence <= count; sequence++)
        {
            Assert.Equal(ConditionalWriteResult.Applied(sequence), await Store.AppendIfLastAsync(stream, sequence - 1, Payload($"entry {sequence}"), default));
        }
    }

    private static byte[] Payload(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(ReadOnlyMemory<byte> payload) => Encoding.UTF8.GetString(payload.Span);
}
