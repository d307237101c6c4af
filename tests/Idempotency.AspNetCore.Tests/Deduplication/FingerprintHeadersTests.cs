using System.Net;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static Idempotency.AspNetCore.Tests.Deduplication.FingerprintTests;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary><see cref="IdempotencyOptions.FingerprintHeaders"/>: further headers that tell two requests apart.</summary>
public sealed class FingerprintHeadersTests
{
    [Fact]
    public void FingerprintHeaders_DefaultsToEmpty()
    {
        Assert.Empty(new IdempotencyOptions().FingerprintHeaders);
    }

    [Fact]
    public void FingerprintHeaders_BindFromConfiguration()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Idempotency:FingerprintHeaders:0"] = "X-Tenant" })
            .Build();
        var options = new IdempotencyOptions();

        configuration.GetSection("Idempotency").Bind(options);

        Assert.Equal(["X-Tenant"], options.FingerprintHeaders);
    }

    [Fact]
    public async Task ConfiguredHeader_WithAnotherValue_Gets422_AndTheSameValueReplays()
    {
        var executions = 0;
        await using var app = await StartAsync(() => Interlocked.Increment(ref executions), o => o.FingerprintHeaders.Add("X-Tenant"));

        await app.SendAsync(Post("k", ("X-Tenant", "acme")));
        var mismatch = await app.SendAsync(Post("k", ("X-Tenant", "globex")));
        var replay = await app.SendAsync(Post("k", ("X-Tenant", "acme")));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, mismatch.StatusCode);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task ConfiguredHeader_AddedOrDropped_Gets422()
    {
        await using var app = await StartAsync(() => "ok", o => o.FingerprintHeaders.Add("X-Tenant"));

        await app.SendAsync(Post("k"));
        var added = await app.SendAsync(Post("k", ("X-Tenant", "acme")));
        await app.SendAsync(Post("k2", ("X-Tenant", "acme")));
        var dropped = await app.SendAsync(Post("k2"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, added.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, dropped.StatusCode);
    }

    [Fact]
    public async Task HeaderNotConfigured_IsNotPartOfTheFingerprint()
    {
        await using var app = await StartAsync(() => "ok");

        await app.SendAsync(Post("k", ("X-Tenant", "acme")));
        var replay = await app.SendAsync(Post("k", ("X-Tenant", "globex")));

        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task ConfiguredNames_AreCaseInsensitive_AndTheirOrderDoesNotMatter()
    {
        // Two apps sharing one store, configured with the same headers spelled and ordered differently.
        var store = new CountingStore();
        await using var first = await StartAsync(() => "ok", o => { o.FingerprintHeaders.Add("X-Tenant"); o.FingerprintHeaders.Add("X-Region"); }, s => s.AddSingleton<IIdempotencyStore>(store));
        await using var second = await StartAsync(() => "ok", o => { o.FingerprintHeaders.Add("x-region"); o.FingerprintHeaders.Add("X-TENANT"); }, s => s.AddSingleton<IIdempotencyStore>(store));

        await first.SendAsync(Post("k", ("X-Tenant", "acme"), ("X-Region", "eu")));
        var replay = await second.SendAsync(Post("k", ("x-tenant", "acme"), ("X-REGION", "eu")));

        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task ContentTypeAsAConfiguredHeader_MakesEveryMediaTypeParameterCount()
    {
        await using var app = await StartAsync(() => "ok", o => o.FingerprintHeaders.Add("Content-Type"));

        await app.SendAsync(PostAs("k", "application/json; version=1"));
        var mismatch = await app.SendAsync(PostAs("k", "application/json; version=2"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, mismatch.StatusCode);
    }

    [Theory]
    [InlineData("X Tenant")]
    [InlineData("X-Tenant:")]
    [InlineData("")]
    [InlineData("X-Ténant")]
    public async Task InvalidFingerprintHeader_FailsTheHostAtStartup_WithAClearMessage(string header)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddIdempotency(o => o.FingerprintHeaders.Add(header));
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains($"IdempotencyOptions.FingerprintHeaders must hold valid HTTP header names; '{header}' is not.", error.Failures);
    }
}
