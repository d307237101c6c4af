using Microsoft.Extensions.Options;
using static Idempotency.Core.Tests.Engine.EngineFactory;

namespace Idempotency.Core.Tests.Engine;

/// <summary>The versioned envelope: what a rolling deploy needs from two releases sharing one store.</summary>
public sealed class IdempotencyRecordEnvelopeTests
{
    // Fixtures: records exactly as releases before the engine wrote them (StoredPayloadFormat version 1), byte for byte.
    // An HTTP 201 with one header "Location: /a/1" and body "ok".
    private const string Version1HttpResponse = "0101" + "00C9" + "00" + "0001" + "00000008" + "4C6F636174696F6E" + "0001" + "00000004" + "2F612F31" + "00000002" + "6F6B";

    // An executor result: the JSON {"id":"r-1"}.
    private const string Version1OperationResult = "0102" + "0000000C" + "7B226964223A22722D31227D";

    // An HTTP request that failed after its 200 response had started.
    private const string Version1OutcomeUnknown = "0103" + "00C8";

    // The same executor result in version 2, completed at 2026-01-01T00:00:00Z (1767225600000 ms).
    private const string Version2OperationResult = "0202" + "0000019B76DAA800" + "0000000C" + "7B226964223A22722D31227D";

    [Theory]
    [InlineData(Version1HttpResponse, IdempotencyRecordKind.HttpResponse, "00C9000001000000084C6F636174696F6E0001000000042F612F31000000026F6B")]
    [InlineData(Version1OperationResult, IdempotencyRecordKind.OperationResult, "0000000C7B226964223A22722D31227D")]
    [InlineData(Version1OutcomeUnknown, IdempotencyRecordKind.OutcomeUnknown, "00C8")]
    public void Read_ReadsRecordsWrittenBeforeTheEngine(string fixture, IdempotencyRecordKind kind, string content)
    {
        var record = IdempotencyRecordEnvelope.Read(Convert.FromHexString(fixture));

        Assert.Equal(IdempotencyRecordFormat.Version1, record.Format);
        Assert.Equal(kind, record.Kind);
        Assert.Equal(content, Convert.ToHexString(record.Content.Span));
        Assert.Null(record.CompletedAt);
    }

    [Fact]
    public void Read_ReadsVersion2_WithItsCompletionTime()
    {
        var record = IdempotencyRecordEnvelope.Read(Convert.FromHexString(Version2OperationResult));

        Assert.Equal(IdempotencyRecordFormat.Version2, record.Format);
        Assert.Equal(IdempotencyRecordKind.OperationResult, record.Kind);
        Assert.Equal(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), record.CompletedAt);
        Assert.Equal("0000000C7B226964223A22722D31227D", Convert.ToHexString(record.Content.Span));
    }

    [Theory]
    [InlineData("0302" + "00")] // a version from a newer release
    [InlineData("01")] // truncated
    [InlineData("0202" + "0000")] // version 2 without its completion time
    [InlineData("0202" + "FFFFFFFFFFFFFFFF")] // a completion time out of range
    public void Read_RefusesRecordsItCannotRead(string fixture)
    {
        Assert.Throws<InvalidDataException>(() => IdempotencyRecordEnvelope.Read(Convert.FromHexString(fixture)));
    }

    [Fact]
    public void Options_WriteThePreviousVersion_UntilToldOtherwise()
    {
        Assert.Equal(IdempotencyRecordFormat.Version1, new IdempotencyEngineOptions().RecordFormat);
    }

    [Theory]
    [InlineData(IdempotencyRecordFormat.Version1, Version1OperationResult)]
    [InlineData(IdempotencyRecordFormat.Version2, Version2OperationResult)]
    public async Task Engine_WritesTheConfiguredVersion_ByteForByteAsTheFixtures(IdempotencyRecordFormat format, string fixture)
    {
        var time = Time();
        var store = new ControllableStore(time);
        var engine = Create(time, new IdempotencyEngineOptions { RecordFormat = format });
        var work = new FixedContentWork(Convert.FromHexString("0000000C7B226964223A22722D31227D"));

        await engine.ExecuteAsync(Request(store), work, CancellationToken.None);

        Assert.Equal(fixture, Convert.ToHexString(Assert.Single(store.Completions)));
    }

    [Fact]
    public async Task Engine_ReplaysRecordsOfBothVersions_SoTwoReleasesCanShareAStore()
    {
        var time = Time();
        var store = new ControllableStore(time);
        var newRelease = Create(time, new IdempotencyEngineOptions { RecordFormat = IdempotencyRecordFormat.Version2 });
        var previousFormat = Create(time);
        await newRelease.ExecuteAsync(Request(store, "by-new"), new ScriptedWork(), CancellationToken.None);
        await previousFormat.ExecuteAsync(Request(store, "by-old"), new ScriptedWork(), CancellationToken.None);

        var newReadsOld = await newRelease.ExecuteAsync(Request(store, "by-old"), new ScriptedWork(), CancellationToken.None);
        var oldReadsNew = await previousFormat.ExecuteAsync(Request(store, "by-new"), new ScriptedWork(), CancellationToken.None);

        Assert.Equal(IdempotencyExecutionStatus.Replayed, newReadsOld.Status);
        Assert.Equal(IdempotencyExecutionStatus.Replayed, oldReadsNew.Status);
        Assert.Equal("result-1", System.Text.Encoding.UTF8.GetString(newReadsOld.Record.Content.Span));
    }

    [Fact]
    public async Task Engine_AnswersRecordUnreadable_ForARecordOfANewerRelease()
    {
        var time = Time();
        var store = new ControllableStore(time);
        var engine = Create(time);
        var claim = await store.ClaimAsync(new IdempotencyClaimRequest(IdempotencyStorageKey.Create("scope", "k-1"), Enumerable.Repeat((byte)1, 32).ToArray(), "owner", TimeSpan.FromMinutes(1), "scope"), CancellationToken.None);
        Assert.Equal(ClaimStatus.Claimed, claim.Status);
        await store.CompleteAsync(new IdempotencyCompleteRequest(IdempotencyStorageKey.Create("scope", "k-1"), "owner", Convert.FromHexString("0302"), TimeSpan.FromHours(1)), CancellationToken.None);

        var execution = await engine.ExecuteAsync(Request(store), new ScriptedWork(), CancellationToken.None);

        Assert.Equal(IdempotencyExecutionStatus.RecordUnreadable, execution.Status);
        Assert.IsType<InvalidDataException>(execution.Fault);
        Assert.Contains("upgrade every instance", execution.Fault!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_AreValidatedAtStartUp()
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        Microsoft.Extensions.DependencyInjection.IdempotencyCoreServiceCollectionExtensions.AddIdempotencyEngine(services, o => o.AuditHashSecret = "short");
        using var provider = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services);

        var error = Assert.Throws<OptionsValidationException>(() => Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<IOptions<IdempotencyEngineOptions>>(provider).Value);
        Assert.Contains("AuditHashSecret", error.Message, StringComparison.Ordinal);
    }

    private sealed class FixedContentWork(byte[] content) : IIdempotentWork<bool>
    {
        public ValueTask<bool> RunAsync(CancellationToken cancellationToken) => ValueTask.FromResult(true);

        public bool HasDeliveryStarted(out int startedStatus)
        {
            startedStatus = 0;
            return false;
        }

        public IdempotencyRecordContent CreateRecord(bool outcome) => IdempotencyRecordContent.FromBytes(IdempotencyRecordKind.OperationResult, content);
    }
}
