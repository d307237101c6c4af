using System.Net;
using Idempotency.AspNetCore.Mirroring;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Idempotency.AspNetCore.Tests.Mirroring;

/// <summary>
/// Edge cases of the mirror guard found in review: pipeline orders in which the guard would fail open, what the
/// outbound handler writes about a blocked call, and a few combinations the classifier and the guard must get right.
/// </summary>
public sealed class MirrorGuardEdgeCaseTests
{
    // ---- Pipeline order: the guard must never fail open because it was registered in the wrong place ----

    [Fact]
    public async Task UseMirrorGuard_BeforeAnExplicitUseRouting_FailsTheHostAtStartup()
    {
        // Before routing the guard sees no endpoint, so a copy of a GET declared .NotMirrorSafe() would run as Safe.
        var effects = new Effects();
        var builder = NewBuilder(o => o.Role = MirrorRole.Canary);
        await using var app = builder.Build();
        app.UseMirrorGuard();
        app.UseRouting();
        app.UseIdempotency();
        app.MapGet("/export", () =>
        {
            effects.Add("export");
            return "started";
        }).NotMirrorSafe();

        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());

        Assert.Contains("UseRouting()", exception.Message, StringComparison.Ordinal);
        Assert.Equal(0, effects.Total);
    }

    [Fact]
    public async Task UseMirrorGuard_AfterUseIdempotency_FailsTheHostAtStartup()
    {
        // After the idempotency middleware a copy would claim the original's key in a shared store.
        var builder = NewBuilder(o =>
        {
            o.Role = MirrorRole.Canary;
            o.Data = MirrorDataMode.Isolated;
        });
        await using var app = builder.Build();
        app.UseRouting();
        app.UseIdempotency();

        var exception = Record.Exception(() => app.UseMirrorGuard());
        exception ??= await Record.ExceptionAsync(() => app.StartAsync());

        var invalid = Assert.IsType<InvalidOperationException>(exception);
        Assert.Contains("UseIdempotency()", invalid.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseMirrorGuard_AfterUseIdempotency_WouldLetACopyClaimTheOriginalsKey_SoItMustNotStart()
    {
        // The harm the start-up check prevents, shown end to end: without it the copy arriving first takes the key and
        // the real client's original is answered with the canary's response.
        var store = new CountingStore();
        var effects = new Effects();
        WebApplication? canary = null;
        try
        {
            var canaryBuilder = NewBuilder(
                o =>
                {
                    o.Role = MirrorRole.Canary;
                    o.Data = MirrorDataMode.Isolated;
                },
                s => s.AddSingleton<IIdempotencyStore>(store));
            canary = canaryBuilder.Build();
            canary.UseRouting();
            canary.UseIdempotency();
            try
            {
                canary.UseMirrorGuard();
                MirrorTestApp.MapClasses(canary, effects, "canary");
                await canary.StartAsync();
            }
            catch (InvalidOperationException)
            {
                return; // Refused at start-up: the copy can never run with the original's key.
            }

            await using var primary = await MirrorTestApp.StartAsync(_ => { }, s => s.AddSingleton<IIdempotencyStore>(store), effects: effects);
            using var canaryClient = canary.GetTestClient();

            var copy = await canaryClient.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: "k1", marker: "1"));
            var original = await primary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: "k1"));

            Assert.Equal(HttpStatusCode.Created, copy.StatusCode);
            Assert.False(original.Headers.Contains("Idempotent-Replayed"), "the original was answered with the copy's stored response");
            Assert.Equal(2, effects.Count("payment"));
        }
        finally
        {
            if (canary is not null)
            {
                await canary.DisposeAsync();
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task UseMirrorGuard_AfterRouting_ExplicitOrNot_SeesTheEndpoint_AndSuppressesANotMirrorSafeGet(bool explicitRouting)
    {
        // Without UseRouting(), WebApplication routes before the first middleware: the guard sees the endpoint either way.
        var effects = new Effects();
        var builder = NewBuilder(o => o.Role = MirrorRole.Canary);
        await using var app = builder.Build();
        if (explicitRouting)
        {
            app.UseRouting();
        }

        app.UseMirrorGuard();
        app.UseIdempotency();
        app.MapGet("/export", () =>
        {
            effects.Add("export");
            return "started";
        }).NotMirrorSafe();
        await app.StartAsync();
        using var client = app.GetTestClient();

        var response = await client.SendAsync(MirrorTestApp.Request(HttpMethod.Get, "/export", marker: "1"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, MirrorProblemTypes.WriteSuppressed);
        Assert.Equal(0, effects.Total);
    }

    // ---- Outbound calls ----

    [Fact]
    public async Task ABlockedOutgoingCall_NeverNamesTheUserInfoOfItsUri_InTheExceptionOrTheLog()
    {
        var logs = new FakeLogCollector();
        await using var canary = await MirrorTestApp.StartAsync(
            o => o.Role = MirrorRole.Canary,
            s =>
            {
                s.AddLogging(b => b.AddProvider(new FakeLoggerProvider(logs)));
                s.AddHttpClient("payments").AddShadowPropagation().ConfigurePrimaryHttpMessageHandler(() => new OkHandler());
            },
            e => e.MapGet("/charge", async (IHttpClientFactory factory) =>
            {
                try
                {
                    using var response = await factory.CreateClient("payments").PostAsync("http://svc:hunter2-password@payments.test/charges?token=abc", null);
                    return "sent";
                }
                catch (ShadowCallBlockedException ex)
                {
                    return ex.Message;
                }
            }));

        var message = await (await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Get, "/charge", marker: "1"))).Content.ReadAsStringAsync();

        Assert.Contains("http://payments.test/charges", message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", message, StringComparison.Ordinal);
        var log = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == 208);
        Assert.DoesNotContain("hunter2", log.Message, StringComparison.Ordinal);
    }

    /// <summary>Pins a right but fragile behaviour: the copy's flag flows into work it starts and outlives the request.</summary>
    [Fact]
    public async Task AnUnsafeCallFromABackgroundTask_StartedByACopy_IsBlocked_EvenAfterTheRequestEnded()
    {
        var downstream = new OkHandler();
        var outcome = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var requestEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var canary = await MirrorTestApp.StartAsync(
            o => o.Role = MirrorRole.Canary,
            s => s.AddHttpClient("payments").AddShadowPropagation().ConfigurePrimaryHttpMessageHandler(() => downstream),
            e => e.MapGet("/later", (IHttpClientFactory factory) =>
            {
                _ = Task.Run(async () =>
                {
                    await requestEnded.Task;
                    try
                    {
                        using var response = await factory.CreateClient("payments").PostAsync("http://payments.test/charges", null);
                        outcome.SetResult("sent");
                    }
                    catch (ShadowCallBlockedException)
                    {
                        outcome.SetResult("blocked");
                    }
                });
                return "accepted";
            }));

        var response = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Get, "/later", marker: "1"));
        Assert.Equal("accepted", await response.Content.ReadAsStringAsync());
        requestEnded.SetResult();

        Assert.Equal("blocked", await outcome.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, downstream.Calls);
    }

    // ---- Classification of real copies ----

    [Fact]
    public async Task ACopyWithAnEmptyKey_ToAnOptionalKeyEndpoint_OnIsolatedData_AppliesNothing()
    {
        var effects = new Effects();
        await using var canary = await MirrorTestApp.StartAsync(
            o =>
            {
                o.Role = MirrorRole.Canary;
                o.Data = MirrorDataMode.Isolated;
            },
            map: e => e.MapPost("/transfers", () =>
            {
                effects.Add("transfer");
                return Results.Created();
            }).EnableIdempotency());

        var response = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/transfers", key: string.Empty, marker: "1"));

        // Refused either way: suppressed as keyless (403) or run into the middleware's invalid-key check (400).
        Assert.Contains(response.StatusCode, new[] { HttpStatusCode.BadRequest, HttpStatusCode.Forbidden });
        Assert.Equal(0, effects.Total);
    }

    [Fact]
    public async Task ACopyWithTheKeyTwice_ToAnOptionalKeyEndpoint_OnIsolatedData_AppliesNothing()
    {
        var effects = new Effects();
        await using var canary = await MirrorTestApp.StartAsync(
            o =>
            {
                o.Role = MirrorRole.Canary;
                o.Data = MirrorDataMode.Isolated;
            },
            map: e => e.MapPost("/transfers", () =>
            {
                effects.Add("transfer");
                return Results.Created();
            }).EnableIdempotency());
        var request = MirrorTestApp.Request(HttpMethod.Post, "/transfers", key: "k1", marker: "1");
        request.Headers.TryAddWithoutValidation("idempotency-key", "k2");

        var response = await canary.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, effects.Total);
    }

    [Theory]
    [InlineData("put", "/items/1")]
    [InlineData("delete", "/things/1")]
    [InlineData("post", "/search-all")]
    public async Task ALowerCaseMethodCopy_IsClassifiedLikeItsUpperCaseForm_OnSharedData(string method, string path)
    {
        var effects = new Effects();
        await using var canary = await MirrorTestApp.StartAsync(
            o => o.Role = MirrorRole.Canary,
            effects: effects,
            map: e =>
            {
                e.MapDelete("/things/{id:int}", () => effects.Add("delete"));
                e.MapPost("/search-all", () => effects.Add("unsafe-post"));
            });

        var response = await canary.SendAsync(MirrorTestApp.Request(new HttpMethod(method), path, marker: "1"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, MirrorProblemTypes.WriteSuppressed);
        Assert.Equal(0, effects.Total);
    }

    [Fact]
    public async Task AGroupsMirrorSafe_IsOverriddenByAnEndpointsNotMirrorSafeAttribute()
    {
        var effects = new Effects();
        await using var canary = await MirrorTestApp.StartAsync(
            o => o.Role = MirrorRole.Canary,
            map: e =>
            {
                var group = e.MapGroup("/reports").MirrorSafe();
                group.MapPost("/run", [NotMirrorSafe] () => effects.Add("run"));
                group.MapPost("/preview", () => effects.Add("preview"));
            });

        var run = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/reports/run", marker: "1"));
        var preview = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/reports/preview", marker: "1"));

        await ProblemAssert.IsProblemAsync(run, HttpStatusCode.Forbidden, MirrorProblemTypes.WriteSuppressed);
        Assert.Equal(HttpStatusCode.OK, preview.StatusCode);
        Assert.Equal((0, 1), (effects.Count("run"), effects.Count("preview")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnActionsNotMirrorSafe_BeatsItsControllersMirrorSafe_WhateverMapControllersAdds(bool mirrorSafeConvention)
    {
        var builder = NewBuilder(o => o.Role = MirrorRole.Canary);
        builder.Services.AddControllers()
            .AddApplicationPart(typeof(MirrorEdgeCaseController).Assembly)
            .ConfigureApplicationPartManager(parts => parts.FeatureProviders.Add(new OnlyTheEdgeCaseController()));
        await using var app = builder.Build();
        app.UseRouting();
        app.UseMirrorGuard();
        app.UseIdempotency();
        var controllers = app.MapControllers();
        if (mirrorSafeConvention)
        {
            // Declares every controller mirror-safe "by default"; MVC adds it after the action's own [NotMirrorSafe],
            // which must still win (it did not while the last declaration added won: 200 instead of 403).
            controllers.MirrorSafe();
        }

        await app.StartAsync();
        using var client = app.GetTestClient();
        var before = (MirrorEdgeCaseController.Applied.Count("run"), MirrorEdgeCaseController.Applied.Count("preview"));

        var run = await client.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/mvc/run", marker: "1"));
        var preview = await client.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/mvc/preview", marker: "1"));

        await ProblemAssert.IsProblemAsync(run, HttpStatusCode.Forbidden, MirrorProblemTypes.WriteSuppressed);
        Assert.Equal(HttpStatusCode.OK, preview.StatusCode);
        Assert.Equal(before.Item1, MirrorEdgeCaseController.Applied.Count("run"));
    }

    [Fact]
    public async Task AForgedMarker_OnAPrimary_LeavesTheKeyNamespaceAlone()
    {
        // A marked request to a primary is keyed as a real request: its unmarked retry is replayed from the same record.
        var store = new CountingStore();
        await using var primary = await MirrorTestApp.StartAsync(o => o.StripMarkerOnPrimary = false, s => s.AddSingleton<IIdempotencyStore>(store));

        var marked = await primary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: "k1", marker: "1"));
        var retry = await primary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: "k1"));

        Assert.Equal(HttpStatusCode.Created, marked.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, primary.Effects.Count("payment"));
    }

    private static WebApplicationBuilder NewBuilder(Action<MirroringOptions> configure, Action<IServiceCollection>? services = null) =>
        MirrorTestApp.CreateBuilder(configure, services);

    /// <summary>Keeps the other test controllers of this assembly (with their own requirements) out of the app.</summary>
    private sealed class OnlyTheEdgeCaseController : Microsoft.AspNetCore.Mvc.ApplicationParts.IApplicationFeatureProvider<Microsoft.AspNetCore.Mvc.Controllers.ControllerFeature>
    {
        public void PopulateFeature(IEnumerable<Microsoft.AspNetCore.Mvc.ApplicationParts.ApplicationPart> parts, Microsoft.AspNetCore.Mvc.Controllers.ControllerFeature feature)
        {
            foreach (var controller in feature.Controllers.Where(c => c.AsType() != typeof(MirrorEdgeCaseController)).ToArray())
            {
                feature.Controllers.Remove(controller);
            }
        }
    }

    private sealed class OkHandler : HttpMessageHandler
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));
        }
    }
}

/// <summary>A controller for the controller-versus-action declaration tests.</summary>
[Microsoft.AspNetCore.Mvc.ApiController]
[Microsoft.AspNetCore.Mvc.Route("mvc")]
[MirrorSafe]
public sealed class MirrorEdgeCaseController : Microsoft.AspNetCore.Mvc.ControllerBase
{
    internal static readonly Effects Applied = new();

    /// <summary>Inherits the controller's [MirrorSafe].</summary>
    /// <returns>200.</returns>
    [Microsoft.AspNetCore.Mvc.HttpPost("preview")]
    public string Preview()
    {
        Applied.Add("preview");
        return "ok";
    }

    /// <summary>Overrides the controller's [MirrorSafe].</summary>
    /// <returns>200.</returns>
    [Microsoft.AspNetCore.Mvc.HttpPost("run")]
    [NotMirrorSafe]
    public string Run()
    {
        Applied.Add("run");
        return "ok";
    }
}
