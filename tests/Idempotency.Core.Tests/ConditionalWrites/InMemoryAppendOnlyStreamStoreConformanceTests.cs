using Idempotency.Stores.Conformance.ConditionalWrites;

namespace Idempotency.Core.Tests.ConditionalWrites;

public sealed class InMemoryAppendOnlyStreamStoreConformanceTests : AppendOnlyStreamStoreConformanceTests
{
    protected override IAppendOnlyStreamStore Store { get; } = new InMemoryAppendOnlyStreamStore();
}
