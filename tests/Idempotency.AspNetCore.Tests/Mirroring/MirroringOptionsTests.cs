using Idempotency.AspNetCore.Mirroring;
using Idempotency.AspNetCore.Mirroring.ProxyConfiguration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Idempotency.AspNetCore.Tests.Mirroring;

public sealed class MirroringOptionsTests
{
    [Fact]
    public void Options_HaveTheDocumentedDefaults()
    {
        var options = new MirroringOptions();

        Assert.Equal(MirrorRole.Primary, options.Role);
        Assert.Equal(MirrorDataMode.Shared, options.Data);
        Assert.Equal("X-Shadow-Request", options.HeaderName);
        Assert.Null(options.Secret);
        Assert.Empty(options.ShadowHosts);
        Assert.False(options.AcceptAnyShadowHost);
        Assert.True(options.StripMarkerOnPrimary);
        Assert.False(options.ReportOnly);
    }

    [Fact]
    public void ExportOptions_HaveTheDocumentedDefaults()
    {
        var options = new MirrorProxyConfigOptions();

        Assert.Equal(MirrorDataMode.Shared, options.Data);
        Assert.Equal("primary", options.Primary);
        Assert.Equal("canary", options.Canary);
        Assert.Equal("X-Shadow-Request", options.MarkerHeaderName);
        Assert.Equal("1", options.MarkerValue);
        Assert.Equal("Idempotency-Key", options.IdempotencyKeyHeaderName);
    }

    [Fact]
    public void PropagationOptions_HaveTheDocumentedDefaults()
    {
        var options = new ShadowPropagationOptions();

        Assert.False(options.AllowUnsafeMethods);
        Assert.Null(options.MarkerValue);
    }

    [Theory]
    [InlineData(nameof(MirroringOptions.Role), "MirroringOptions.Role must be Primary or Canary; it is 5.")]
    [InlineData(nameof(MirroringOptions.Data), "MirroringOptions.Data must be Shared or Isolated; it is 9.")]
    [InlineData(nameof(MirroringOptions.HeaderName), "MirroringOptions.HeaderName must be a valid HTTP header name; 'X Shadow' is not.")]
    [InlineData(nameof(MirroringOptions.Secret), "MirroringOptions.Secret must be null or 1 or more visible ASCII characters (no spaces); the value set is not.")]
    [InlineData(nameof(MirroringOptions.ShadowHosts), "MirroringOptions.ShadowHosts must hold host names without port or '-shadow' suffix, such as 'orders' or 'orders.default.svc.cluster.local'; 'orders-shadow' is not.")]
    public async Task InvalidOption_FailsTheHostAtStartup_WithAClearMessage(string option, string message)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddMirroring(o =>
        {
            switch (option)
            {
                case nameof(MirroringOptions.Role): o.Role = (MirrorRole)5; break;
                case nameof(MirroringOptions.Data): o.Data = (MirrorDataMode)9; break;
                case nameof(MirroringOptions.HeaderName): o.HeaderName = "X Shadow"; break;
                case nameof(MirroringOptions.Secret): o.Secret = "two words"; break;
                case nameof(MirroringOptions.ShadowHosts): o.ShadowHosts.Add("orders-shadow"); break;
            }
        });
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(message, error.Failures);
    }

    [Theory]
    [InlineData("")]
    [InlineData("X-Shadow:")]
    [InlineData("X-Shadow\u00e9")]
    public void HeaderNamesThatAreNotTokens_AreRejected(string header)
    {
        var result = new MirroringOptionsValidator().Validate(null, new MirroringOptions { HeaderName = header });

        Assert.True(result.Failed);
    }

    [Theory]
    [InlineData("Idempotency-Key")]
    [InlineData("idempotency-key")]
    [InlineData("Host")]
    [InlineData("Authorization")]
    [InlineData("If-Match")]
    public void MarkerHeaders_ThatAlreadyMeanSomething_AreRejected(string header)
    {
        // As the marker, the Idempotency-Key would be removed from every request on a primary (StripMarkerOnPrimary):
        // optional-key endpoints would run unprotected, required-key ones would refuse everything.
        var result = new MirroringOptionsValidator().Validate(null, new MirroringOptions { HeaderName = header });

        Assert.True(result.Failed);
        Assert.Contains($"MirroringOptions.HeaderName must be a header of its own, such as the default 'X-Shadow-Request'; '{header}' already means", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("X-Request-Key")]
    [InlineData("x-request-key")]
    public async Task MarkerHeader_NamedAsTheCustomIdempotencyKeyHeader_FailsTheHostAtStartup(string marker)
    {
        // A primary strips the marker from every request: named as the app's own key header, it would strip every key,
        // and keyed requests would run unprotected (optional key) or all be refused (required key).
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddIdempotency(o => o.HeaderName = "X-Request-Key");
        builder.Services.AddMirroring(o => o.HeaderName = marker);
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(
            $"MirroringOptions.HeaderName must be a header of its own, such as the default 'X-Shadow-Request'; '{marker}' is IdempotencyOptions.HeaderName, " +
            "the header that carries the idempotency key: a primary would remove the key from every request. Give the marker another name.",
            error.Failures);
    }

    [Fact]
    public async Task MarkerHeader_NamedAsTheDefaultKeyHeader_StartsWhenTheAppUsesAnotherKeyHeader_ButIsStillRefused()
    {
        // Idempotency-Key keeps its meaning (clients, the HttpClient handler) even when the app reads another header.
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddIdempotency(o => o.HeaderName = "X-Request-Key");
        builder.Services.AddMirroring(o => o.HeaderName = "Idempotency-Key");
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(error.Failures, failure => failure.StartsWith("MirroringOptions.HeaderName must be a header of its own", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MarkerHeader_OfItsOwn_StartsWithACustomIdempotencyKeyHeader()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddIdempotency(o => o.HeaderName = "X-Request-Key");
        builder.Services.AddMirroring(o => o.HeaderName = "X-Shadow-Request");
        await using var app = builder.Build();

        await app.StartAsync();

        await app.StopAsync();
    }

    [Theory]
    [InlineData("")]
    [InlineData("tab\there")]
    [InlineData("caf\u00e9")]
    public void SecretsThatCannotTravelInAHeader_AreRejected_WithoutEchoingThem(string secret)
    {
        var result = new MirroringOptionsValidator().Validate(null, new MirroringOptions { Secret = secret });

        Assert.True(result.Failed);
        Assert.DoesNotContain(secret.Length == 0 ? "\u0000" : secret, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("orders:8080")]
    [InlineData(".orders")]
    [InlineData("orders.")]
    [InlineData("ORDERS-SHADOW")]
    [InlineData("")]
    public void ShadowHostsWithPortsSuffixesOrStrayDots_AreRejected(string host)
    {
        var options = new MirroringOptions();
        options.ShadowHosts.Add(host);

        Assert.True(new MirroringOptionsValidator().Validate(null, options).Failed);
    }

    [Fact]
    public void AValidCanaryConfiguration_Passes()
    {
        var options = new MirroringOptions { Role = MirrorRole.Canary, Data = MirrorDataMode.Isolated, Secret = "0123456789abcdef0123456789abcdef", AcceptAnyShadowHost = true };
        options.ShadowHosts.Add("orders.default.svc.cluster.local");

        Assert.True(new MirroringOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public async Task AddMirroring_IsSafeToCallTwice()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddMirroring(o => o.Role = MirrorRole.Canary);
        builder.Services.AddMirroring(o => o.Data = MirrorDataMode.Isolated);
        await using var app = builder.Build();
        app.UseMirrorGuard();

        await app.StartAsync();

        var options = app.Services.GetRequiredService<IOptions<MirroringOptions>>().Value;
        Assert.Equal((MirrorRole.Canary, MirrorDataMode.Isolated), (options.Role, options.Data));
        Assert.Single(app.Services.GetServices<IValidateOptions<MirroringOptions>>());
    }
}
