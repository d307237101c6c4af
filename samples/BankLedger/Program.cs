using BankLedger.Auth;
using BankLedger.Endpoints;
using BankLedger.Ledger;
using Microsoft.AspNetCore.Authentication;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddProblemDetails();
builder.Services.AddAuthentication(DemoBearerAuthenticationHandler.SchemeName)
    .AddScheme<AuthenticationSchemeOptions, DemoBearerAuthenticationHandler>(DemoBearerAuthenticationHandler.SchemeName, null);
builder.Services.AddAuthorization();

// Keys are scoped to the authenticated user: alice's key can never replay bob's response.
builder.Services.AddIdempotency(options => builder.Configuration.GetSection("Idempotency:Options").Bind(options));
builder.Services.AddSingleton<ILedger, InMemoryLedger>();

var app = builder.Build();

app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();
app.UseIdempotency();

app.MapGet("/healthz", () => Results.Ok(new { status = "healthy" }));
app.MapLedger();

app.Run();

/// <summary>The sample's entry point, visible to its tests.</summary>
public partial class Program;
