using Idempotency.Stores.Conformance.ConditionalWrites;

namespace Idempotency.Core.Tests.ConditionalWrites;

public sealed class InMemoryVersionedRecordStoreConformanceTests : VersionedRecordStoreConformanceTests
{
    protected override IVersionedRecordStore Store { get; } = new InMemoryVersionedRecordStore();
}
