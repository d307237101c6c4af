using System.Text;

namespace Idempotency.Stores.Conformance.ConditionalWrites;

/// <summary>
/// The behaviour every <see cref="IVersionedRecordStore"/> must have. A store's test project inherits this class and
/// supplies the store under test. Each test uses record ids of its own, so one store may serve every test.
/// </summary>
public abstract class VersionedRecordStoreConformanceTests
{
    /// <summary>Gets the store under test.</summary>
    protected abstract IVersionedRecordStore Store { get; }

    /// <summary>Gets how many writers race for the same version in the concurrency tests.</summary>
    protected virtual int ConcurrentWriters => 32;

    /// <summary>Reading a record that does not exist returns null.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Get_ReturnsNull_WhenRecordDoesNotExist()
    {
        Assert.Null(await Store.GetAsync(NewId(), default));
    }

    /// <summary>Creating a new record applies it at version 1.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Create_AppliesAtVersion1_WhenRecordIsNew()
    {
        var id = NewId();

        var result = await Store.CreateAsync(id, Value("opened"), default);
        var record = await Store.GetAsync(id, default);

        Assert.Equal(ConditionalWriteResult.Applied(1), result);
        Assert.NotNull(record);
        Assert.Equal(1, record.Version);
        Assert.Equal("opened", Text(record.Value));
    }

    /// <summary>Creating a record that exists is a conflict that reports its version and writes nothing.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Create_ReturnsConflictWithCurrentVersion_AndWritesNothing_WhenRecordExists()
    {
        var id = NewId();
        await CreateAsync(id, "first");
        await UpdateAsync(id, 1, "second");

        var result = await Store.CreateAsync(id, Value("again"), default);
        var record = await Store.GetAsync(id, default);

        Assert.Equal(ConditionalWriteResult.VersionConflict(2), result);
        Assert.Equal(2, record!.Version);
        Assert.Equal("second", Text(record.Value));
    }

    /// <summary>An update expecting the current version replaces the value and increments the version.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task UpdateIfVersion_ReplacesValueAndIncrementsVersion_WhenExpectedVersionIsCurrent()
    {
        var id = NewId();
        await CreateAsync(id, "v1");

        var second = await Store.UpdateIfVersionAsync(id, 1, Value("v2"), default);
        var third = await Store.UpdateIfVersionAsync(id, 2, Value("v3"), default);
        var record = await Store.GetAsync(id, default);

        Assert.Equal(ConditionalWriteResult.Applied(2), second);
        Assert.Equal(ConditionalWriteResult.Applied(3), third);
        Assert.Equal(3, record!.Version);
        Assert.Equal("v3", Text(record.Value));
    }

    /// <summary>An update expecting a stale version is a conflict that reports the current version and writes nothing.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task UpdateIfVersion_ReturnsConflictWithCurrentVersion_AndWritesNothing_WhenExpectedVersionIsStale()
    {
        var id = NewId();
        await CreateAsync(id, "v1");
        await UpdateAsync(id, 1, "v2");

        var result = await Store.UpdateIfVersionAsync(id, 1, Value("stale"), default);
        var record = await Store.GetAsync(id, default);

        Assert.Equal(ConditionalWriteResult.VersionConflict(2), result);
        Assert.Equal(2, record!.Version);
        Assert.Equal("v2", Text(record.Value));
    }

    /// <summary>An update expecting a version past the current one is a conflict.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task UpdateIfVersion_ReturnsConflict_WhenExpectedVersionIsAhead()
    {
        var id = NewId();
        await CreateAsync(id, "v1");

        var result = await Store.UpdateIfVersionAsync(id, 5, Value("future"), default);

        Assert.Equal(ConditionalWriteResult.VersionConflict(1), result);
        Assert.Equal("v1", Text((await Store.GetAsync(id, default))!.Value));
    }

    /// <summary>Updating a record that does not exist reports not found and creates nothing.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task UpdateIfVersion_ReturnsNotFound_AndCreatesNothing_WhenRecordDoesNotExist()
    {
        var id = NewId();

        var result = await Store.UpdateIfVersionAsync(id, 1, Value("ghost"), default);

        Assert.Equal(ConditionalWriteResult.NotFound(), result);
        Assert.Null(await Store.GetAsync(id, default));
    }

    /// <summary>An update delivered twice is applied once; the duplicate is a conflict.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task UpdateIfVersion_IsRefused_WhenTheSameWriteIsDeliveredTwice()
    {
        var id = NewId();
        await CreateAsync(id, "balance=100");

        var first = await Store.UpdateIfVersionAsync(id, 1, Value("balance=0"), default);
        var duplicate = await Store.UpdateIfVersionAsync(id, 1, Value("balance=0"), default);

        Assert.Equal(ConditionalWriteResult.Applied(2), first);
        Assert.Equal(ConditionalWriteResult.VersionConflict(2), duplicate);
        Assert.Equal(2, (await Store.GetAsync(id, default))!.Version);
    }

    /// <summary>Empty and binary values are kept exactly.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Writes_KeepEmptyAndBinaryValuesExactly()
    {
        var id = NewId();
        byte[] binary = [0, 255, 10, 13, 0x7b];

        await Store.CreateAsync(id, ReadOnlyMemory<byte>.Empty, default);
        var empty = await Store.GetAsync(id, default);
        await Store.UpdateIfVersionAsync(id, 1, binary, default);
        var updated = await Store.GetAsync(id, default);

        Assert.True(empty!.Value.IsEmpty);
        Assert.Equal(binary, updated!.Value.ToArray());
    }

    /// <summary>The store keeps the value it was given, not the caller's buffer, which the caller may reuse.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Writes_KeepTheValueGiven_WhenTheCallerReusesItsBuffer()
    {
        var id = NewId();
        var buffer = Encoding.UTF8.GetBytes("original");

        await Store.CreateAsync(id, buffer, default);
        buffer.AsSpan().Fill((byte)'x');

        Assert.Equal("original", Text((await Store.GetAsync(id, default))!.Value));
    }

    /// <summary>Updating one record leaves every other record as it was.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Records_AreIndependentOfEachOther()
    {
        var a = NewId();
        var b = NewId();
        await CreateAsync(a, "a1");
        await CreateAsync(b, "b1");

        await UpdateAsync(a, 1, "a2");

        Assert.Equal(1, (await Store.GetAsync(b, default))!.Version);
        Assert.Equal(ConditionalWriteResult.Applied(2), await Store.UpdateIfVersionAsync(b, 1, Value("b2"), default));
    }

    /// <summary>A negative expected version throws <see cref="ArgumentOutOfRangeException"/>.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task UpdateIfVersion_Throws_WhenExpectedVersionIsNegative()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.UpdateIfVersionAsync(NewId(), -1, Value("x"), default));
    }

    /// <summary>Of many writers updating the same version at once exactly one wins; the others get a conflict with the winner's version.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task UpdateIfVersion_LetsExactlyOneOfManyConcurrentWritersWin_AndTellsTheOthersTheWinnersVersion()
    {
        var id = NewId();
        await CreateAsync(id, "v1");

        var results = await Race.RunAsync(ConcurrentWriters, writer => Store.UpdateIfVersionAsync(id, 1, Value($"writer-{writer}"), default));
        var record = await Store.GetAsync(id, default);

        var winners = results.Where(r => r.Result.IsApplied).ToArray();
        var winner = Assert.Single(winners);
        Assert.Equal(ConditionalWriteResult.Applied(2), winner.Result);
        Assert.All(results.Where(r => !r.Result.IsApplied), r => Assert.Equal(ConditionalWriteResult.VersionConflict(2), r.Result));
        Assert.Equal(2, record!.Version);
        Assert.Equal($"writer-{winner.Writer}", Text(record.Value));
    }

    /// <summary>Of many writers creating the same record at once exactly one wins; the others get a conflict at version 1.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Create_LetsExactlyOneOfManyConcurrentCreatorsWin()
    {
        var id = NewId();

        var results = await Race.RunAsync(ConcurrentWriters, writer => Store.CreateAsync(id, Value($"creator-{writer}"), default));
        var record = await Store.GetAsync(id, default);

        var winner = Assert.Single(results, r => r.Result.IsApplied);
        Assert.Equal(ConditionalWriteResult.Applied(1), winner.Result);
        Assert.All(results.Where(r => !r.Result.IsApplied), r => Assert.Equal(ConditionalWriteResult.VersionConflict(1), r.Result));
        Assert.Equal($"creator-{winner.Writer}", Text(record!.Value));
    }

    /// <summary>Creates a record id no other test uses.</summary>
    /// <returns>The record id.</returns>
    protected static string NewId() => "record-" + Guid.NewGuid().ToString("N");

    private async Task CreateAsync(string id, string value) =>
        Assert.Equal(ConditionalWriteResult.Applied(1), await Store.CreateAsync(id, Value(value), default));

    private async Task UpdateAsync(string id, long expected, string value) =>
        Assert.Equal(ConditionalWriteResult.Applied(expected + 1), await Store.UpdateIfVersionAsync(id, expected, Value(value), default));

    private static byte[] Value(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(ReadOnlyMemory<byte> value) => Encoding.UTF8.GetString(value.Span);
}
