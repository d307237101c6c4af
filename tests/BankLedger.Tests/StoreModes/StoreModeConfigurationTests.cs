using BankLedger.Ledger;
using BankLedger.Storage;
using BankLedger.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BankLedger.Tests.StoreModes;

/// <summary>How <c>Idempotency:Store</c> is read: memory by default, and a clear start-up failure for what cannot work.</summary>
public sealed class StoreModeConfigurationTests(WebApplicationFactory<Program> factory) : IClassFixture<WebApplicationFactory<Program>>
{
    [Fact]
    public void Default_IsMemory_WithTheInMemoryLedger()
    {
        Assert.Equal(LedgerStoreMode.Memory, factory.Services.GetRequiredService<LedgerStorage>().Mode);
        Assert.IsType<InMemoryLedger>(factory.Services.GetRequiredService<ILedger>());
    }

    [Theory]
    [InlineData("postgres", "Postgres")]
    [InlineData("efcore", "Postgres")]
    [InlineData("redis", "Redis")]
    public void AStoreWithoutItsConnectionString_StopsTheServiceAtStartUp_SayingWhatToSet(string store, string name)
    {
        using var app = SampleApp.Create(new() { ["Idempotency:Store"] = store });

        var exception = Assert.Throws<InvalidOperationException>(() => app.CreateClient());

        Assert.StartsWith($"Idempotency:Store is {store}, but ConnectionStrings:{name} is not set.", exception.Message, StringComparison.Ordinal);
        Assert.Contains($"ConnectionStrings__{name}=", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownStore_StopsTheServiceAtStartUp()
    {
        using var app = SampleApp.Create(new() { ["Idempotency:Store"] = "mongo" });

        var exception = Assert.Throws<InvalidOperationException>(() => app.CreateClient());

        Assert.Equal("Idempotency:Store is 'mongo'; use memory (the default), redis, postgres or efcore.", exception.Message);
    }
}
