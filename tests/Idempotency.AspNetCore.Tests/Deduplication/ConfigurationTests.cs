using Idempotency.AspNetCore.Deduplication;
using Idempotency.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Idempotency.AspNetCore.Tests.Deduplication;

public sealed class ConfigurationTests
{
    [Fact]
    public void Options_HaveTheDocumentedDefaults()
    {
        var options = new IdempotencyOptions();

        Assert.Equal("Idempotency-Key", options.HeaderName);
        Assert.False(options.StrictKeyParsing);
        Assert.Equal(255, options.MaxKeyLength);
        Assert.Equal(TimeSpan.FromMinutes(1), options.LeaseDuration);
        Assert.Equal(TimeSpan.FromHours(24), options.ResponseRetention);
        Assert.Equal(1024 * 1024, options.MaxStoredBodySize);
        Assert.Equal(InFlightDuplicateHandling.Reject, options.InFlightDuplicates);
        Assert.Equal(TimeSpan.FromSeconds(10), options.InFlightWaitTimeout);
        Assert.False(options.AllowUnprotectedExecutionWhenStoreUnavailable);
        Assert.Null(options.ScopeResolver);
        Assert.Null(options.ShouldStoreResponse);
        Assert.Equal("https://github.com/idempotency-dotnet/idempotency/blob/main/docs/errors.md#", options.ProblemTypeBaseUri);
        Assert.Equal([System.Security.Claims.ClaimTypes.NameIdentifier, "sub"], options.ScopeClaimTypes);
        Assert.Null(options.AuditHashSecret);
    }

    [Theory]
    [InlineData(nameof(IdempotencyOptions.HeaderName), "IdempotencyOptions.HeaderName must be a valid HTTP header name; 'bad header' is not.")]
    [InlineData(nameof(IdempotencyOptions.MaxKeyLength), "IdempotencyOptions.MaxKeyLength must be between 1 and 1024; it is 0.")]
    [InlineData(nameof(IdempotencyOptions.LeaseDuration), "IdempotencyOptions.LeaseDuration must be positive; it is 00:00:00.")]
    [InlineData(nameof(IdempotencyOptions.ResponseRetention), "IdempotencyOptions.ResponseRetention must be at least 1 second; it is 00:00:00.5000000.")]
    [InlineData(nameof(IdempotencyOptions.MaxStoredBodySize), "IdempotencyOptions.MaxStoredBodySize must not be negative; it is -1.")]
    [InlineData(nameof(IdempotencyOptions.InFlightWaitTimeout), "IdempotencyOptions.InFlightWaitTimeout must be positive; it is -00:00:01.")]
    [InlineData(nameof(IdempotencyOptions.InFlightDuplicates), "IdempotencyOptions.InFlightDuplicates must be Reject or Wait; it is 7.")]
    [InlineData(nameof(IdempotencyOptions.ProblemTypeBaseUri), "IdempotencyOptions.ProblemTypeBaseUri must be an absolute URI; 'problems/' is not.")]
    [InlineData(nameof(IdempotencyOptions.ScopeClaimTypes), "IdempotencyOptions.ScopeClaimTypes must name at least one claim type, and none may be empty.")]
    [InlineData(nameof(IdempotencyOptions.AuditHashSecret), "IdempotencyOptions.AuditHashSecret must be at least 16 characters when set; it has 6.")]
    public async Task InvalidOption_FailsTheHostAtStartup_WithAClearMessage(string option, string message)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddIdempotency(o =>
        {
            switch (option)
            {
                case nameof(IdempotencyOptions.HeaderName): o.HeaderName = "bad header"; break;
                case nameof(IdempotencyOptions.MaxKeyLength): o.MaxKeyLength = 0; break;
                case nameof(IdempotencyOptions.LeaseDuration): o.LeaseDuration = TimeSpan.Zero; break;
                case nameof(IdempotencyOptions.ResponseRetention): o.ResponseRetention = TimeSpan.FromMilliseconds(500); break;
                case nameof(IdempotencyOptions.MaxStoredBodySize): o.MaxStoredBodySize = -1; break;
                case nameof(IdempotencyOptions.InFlightWaitTimeout): o.InFlightWaitTimeout = TimeSpan.FromSeconds(-1); break;
                case nameof(IdempotencyOptions.InFlightDuplicates): o.InFlightDuplicates = (InFlightDuplicateHandling)7; break;
                case nameof(IdempotencyOptions.ProblemTypeBaseUri): o.ProblemTypeBaseUri = "problems/"; break;
                case nameof(IdempotencyOptions.ScopeClaimTypes): o.ScopeClaimTypes.Clear(); break;
                case nameof(IdempotencyOptions.AuditHashSecret): o.AuditHashSecret = "secret"; break;
            }
        });
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(message, error.Failures);
    }

    [Fact]
    public async Task ProblemTypeBaseUri_WithoutATrailingSlashOrHash_FailsTheHostAtStartup()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddIdempotency(o => o.ProblemTypeBaseUri = "https://bank.example/problems");
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(
            "IdempotencyOptions.ProblemTypeBaseUri must end with '/' or '#', so a problem's name follows it as a path segment or a fragment; 'https://bank.example/problems' does not.",
            error.Failures);
    }

    [Fact]
    public async Task ProblemTypeBaseUri_IsTheBaseOfTheMiddlewaresProblemTypes()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddIdempotency(o => o.ProblemTypeBaseUri = "https://bank.example/problems/");
        await using var app = builder.Build();
        app.UseIdempotency();
        app.MapPost("/pay", () => "paid").RequireIdempotency();
        await app.StartAsync();

        using var response = await app.GetTestClient().PostAsync(new Uri("/pay", UriKind.Relative), new StringContent("{}"));
        using var problem = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("https://bank.example/problems/key-missing", problem.RootElement.GetProperty("type").GetString());
    }

    [Fact]
    public async Task AddIdempotency_BindsTheIdempotencySection_AndConfigureRunsAfterTheBinding()
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Idempotency:LeaseDuration"] = "00:02:00",
                ["Idempotency:InFlightDuplicates"] = "Wait",
                ["Idempotency:ProblemTypeBaseUri"] = "https://bank.example/problems/",
                ["Idempotency:ResponseRetention"] = "2.00:00:00",
            })
            .Build();
        var services = new ServiceCollection();
        services.AddIdempotency(configuration.GetSection("Idempotency"), o => o.ResponseRetention = TimeSpan.FromHours(1));
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<IdempotencyOptions>>().Value;

        Assert.Equal(TimeSpan.FromMinutes(2), options.LeaseDuration);
        Assert.Equal(InFlightDuplicateHandling.Wait, options.InFlightDuplicates);
        Assert.Equal("https://bank.example/problems/", options.ProblemTypeBaseUri);
        Assert.Equal(TimeSpan.FromHours(1), options.ResponseRetention);
    }

    [Fact]
    public async Task AddIdempotency_WithConfiguration_ValidatesTheBoundValuesAtStartup()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Idempotency:LeaseDuration"] = "00:00:00" });
        builder.Services.AddIdempotency(builder.Configuration.GetSection("Idempotency"));
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("IdempotencyOptions.LeaseDuration must be positive; it is 00:00:00.", error.Failures);
    }

    [Fact]
    public void AddIdempotency_WithConfiguration_ThrowsForMissingArguments()
    {
        Assert.Throws<ArgumentNullException>("services", () => ((IServiceCollection)null!).AddIdempotency(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build()));
        Assert.Throws<ArgumentNullException>("configuration", () => new ServiceCollection().AddIdempotency((Microsoft.Extensions.Configuration.IConfiguration)null!));
    }

    [Fact]
    public void EveryProblemType_HasAnAnchorInTheErrorReference_WhereTheDefaultBaseUriPoints()
    {
        Assert.Equal("https://github.com/idempotency-dotnet/idempotency/blob/main/docs/errors.md#", IdempotencyProblemTypes.DefaultBaseUri);
        var errors = File.ReadAllText(Path.Combine(RepositoryScript.Root, "docs", "errors.md"));
        var names = new[] { typeof(IdempotencyProblemTypes), typeof(AspNetCore.Preconditions.PreconditionProblemTypes), typeof(AspNetCore.Mirroring.MirrorProblemTypes) }
            .SelectMany(t => t.GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static))
            .Where(f => f.IsLiteral && f.Name != nameof(IdempotencyProblemTypes.DefaultBaseUri))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToList();

        Assert.NotEmpty(names);
        Assert.All(names, name => Assert.Contains($"<a id=\"{name}\"></a>", errors, StringComparison.Ordinal));
    }

    [Fact]
    public async Task InvalidInMemoryStoreOption_FailsTheHostAtStartup()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddIdempotency().AddInMemoryStore(o => o.MaxEntries = 0);
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(error.Failures, f => f.Contains("MaxEntries", StringComparison.Ordinal));
    }

    [Fact]
    public void UseIdempotency_WithoutAddIdempotency_ThrowsAndSaysWhatToCall()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        var app = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.UseIdempotency());

        Assert.Contains("services.AddIdempotency()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddIdempotency_IsSafeToCallTwice_AndKeepsAChosenStore()
    {
        var services = new ServiceCollection();
        services.AddIdempotency().UseStore<NullStore>();
        services.AddIdempotency();

        Assert.Single(services, d => d.ServiceType == typeof(IIdempotencyStore));
        Assert.Equal(typeof(NullStore), services.Single(d => d.ServiceType == typeof(IIdempotencyStore)).ImplementationType);
        Assert.Single(services, d => d.ServiceType == typeof(IValidateOptions<IdempotencyOptions>));
    }

    private sealed class NullStore : IIdempotencyStore
    {
        public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
