using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Core.Tests.ConditionalWrites;

public sealed class ConditionalWriteRegistrationTests
{
    [Fact]
    public void AddInMemoryConditionalWrites_RegistersOneSharedInstanceOfEachStore()
    {
        using var provider = new ServiceCollection().AddInMemoryConditionalWrites().AddInMemoryConditionalWrites().BuildServiceProvider();

        Assert.IsType<InMemoryVersionedRecordStore>(provider.GetRequiredService<IVersionedRecordStore>());
        Assert.IsType<InMemoryAppendOnlyStreamStore>(provider.GetRequiredService<IAppendOnlyStreamStore>());
        Assert.Same(provider.GetRequiredService<IAppendOnlyStreamStore>(), provider.GetRequiredService<IAppendOnlyStreamStore>());
        Assert.Single(provider.GetServices<IVersionedRecordStore>());
    }

    [Fact]
    public void AddInMemoryConditionalWrites_KeepsAStoreRegisteredBefore()
    {
        var custom = new InMemoryVersionedRecordStore();
        using var provider = new ServiceCollection().AddSingleton<IVersionedRecordStore>(custom).AddInMemoryConditionalWrites().BuildServiceProvider();

        Assert.Same(custom, provider.GetRequiredService<IVersionedRecordStore>());
    }
}
