using System.Net;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>Named policies on MVC controllers, through <see cref="RequireIdempotencyAttribute.PolicyName"/>.</summary>
public sealed class PolicyControllerTests
{
    [Fact]
    public async Task ControllerAction_RunsWithTheNamedPolicy_AndAnActionWithoutOneWithTheGlobalOptions()
    {
        await using var app = await TestApp.StartAsync(
            e => e.MapControllers(),
            o => o.AddPolicy("payments", p => p.FingerprintExcludedJsonMembers.Add("sentAt")),
            s => s.AddControllers().AddApplicationPart(typeof(PolicyTransfersController).Assembly));

        await app.SendAsync(TestApp.Post("/policy-transfers", "k", """{"amount":10,"sentAt":1}"""));
        var retry = await app.SendAsync(TestApp.Post("/policy-transfers", "k", """{"amount":10,"sentAt":2}"""));
        var otherAmount = await app.SendAsync(TestApp.Post("/policy-transfers", "k", """{"amount":11,"sentAt":2}"""));
        await app.SendAsync(TestApp.Post("/policy-transfers/global", "g", """{"amount":10,"sentAt":1}"""));
        var globalRetry = await app.SendAsync(TestApp.Post("/policy-transfers/global", "g", """{"amount":10,"sentAt":2}"""));

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, PolicyTransfersController.Executions);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, otherAmount.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, globalRetry.StatusCode);
    }

    [Fact]
    public async Task ControllerAction_NamingAnUnknownPolicy_FailsTheHostAtStartup()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(
            e => e.MapControllers(),
            o => { },
            s => s.AddControllers().AddApplicationPart(typeof(PolicyTransfersController).Assembly)));

        Assert.Contains(
            $"The endpoint '{typeof(PolicyTransfersController).FullName}.Transfer ({typeof(PolicyTransfersController).Assembly.GetName().Name})' requires the idempotency policy 'payments', which is not registered (registered: none).",
            error.Message,
            StringComparison.Ordinal);
    }
}

/// <summary>A controller whose actions name a policy and none.</summary>
[ApiController]
[Route("policy-transfers")]
public sealed class PolicyTransfersController : ControllerBase
{
    private static int s_executions;

    public static int Executions => s_executions;

    [HttpPost]
    [RequireIdempotency(PolicyName = "payments")]
    public IActionResult Transfer(TransferBody body)
    {
        Interlocked.Increment(ref s_executions);
        return Ok(new { body.Amount });
    }

    [HttpPost("global")]
    [RequireIdempotency]
    public IActionResult TransferWithGlobalOptions(TransferBody body) => Ok(new { body.Amount });
}

/// <summary>The transfer's body.</summary>
public sealed record TransferBody(int Amount, int SentAt);
