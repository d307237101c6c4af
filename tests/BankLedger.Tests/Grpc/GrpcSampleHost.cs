using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using BankLedger.Grpc;
using BankLedger.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace BankLedger.Tests.Grpc;

/// <summary>
/// The sample on a real Kestrel, one TLS endpoint on 127.0.0.1 with <c>Http1AndHttp2</c>: JSON over HTTP/1.1 and gRPC
/// over HTTP/2 on the same port (ALPN chooses), as the sample runs behind its own certificate.
/// </summary>
internal sealed class GrpcSampleHost : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;
    private readonly X509Certificate2 _certificate;

    private GrpcSampleHost(WebApplicationFactory<Program> factory, X509Certificate2 certificate, Uri address)
    {
        _factory = factory;
        _certificate = certificate;
        Address = address;
        Channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = Handler(certificate) });
        Client = new LedgerService.LedgerServiceClient(Channel);
        Http = new HttpClient(Handler(certificate)) { BaseAddress = address };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "alice-token");
    }

    public Uri Address { get; }

    public GrpcChannel Channel { get; }

    /// <summary>Gets a gRPC client without retries.</summary>
    public LedgerService.LedgerServiceClient Client { get; }

    /// <summary>Gets an HTTP/1.1 client of the JSON API, authenticated as alice.</summary>
    public HttpClient Http { get; }

    public IServiceProvider Services => _factory.Services;

    /// <summary>Starts the sample, in memory mode unless <paramref name="settings"/> say otherwise.</summary>
    public static GrpcSampleHost Start(Action<IServiceCollection>? configureServices = null, Dictionary<string, string?>? settings = null)
    {
        var certificate = CreateCertificate();
        var factory = SampleApp.Create(settings ?? new() { ["Idempotency:Store"] = "memory" }, configureServices);
        factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(certificate);
        }));
        factory.StartServer();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new GrpcSampleHost(factory, certificate, new Uri(address));
    }

    /// <summary>A client whose channel retries UNAVAILABLE and ABORTED (an in-flight duplicate), honouring the server's pushback.</summary>
    public LedgerService.LedgerServiceClient RetryingClient(out GrpcChannel channel)
    {
        channel = GrpcChannel.ForAddress(Address, new GrpcChannelOptions
        {
            HttpHandler = Handler(_certificate),
            ServiceConfig = new ServiceConfig
            {
                MethodConfigs =
                {
                    new MethodConfig
                    {
                        Names = { MethodName.Default },
                        RetryPolicy = new RetryPolicy
                        {
                            MaxAttempts = 5,
                            InitialBackoff = TimeSpan.FromMilliseconds(50),
                            MaxBackoff = TimeSpan.FromSeconds(1),
                            BackoffMultiplier = 2,
                            RetryableStatusCodes = { StatusCode.Unavailable, StatusCode.Aborted },
                        },
                    },
                },
            },
        });
        return new LedgerService.LedgerServiceClient(channel);
    }

    public static Metadata Call(string? key, string token = "alice-token")
    {
        var metadata = new Metadata { { "authorization", $"Bearer {token}" } };
        if (key is not null)
        {
            metadata.Add("idempotency-key", key);
        }

        return metadata;
    }

    public static string NewKey() => $"\"{Guid.NewGuid()}\"";

    public async Task<long> OpenAccountAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/accounts") { Content = JsonContent.Create(new { owner = "andrew" }) };
        request.Headers.Add("Idempotency-Key", NewKey());
        using var response = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    public async Task<(long Balance, int Entries)> AccountAsync(long id)
    {
        var account = await Http.GetFromJsonAsync<JsonElement>($"/accounts/{id}");
        var entries = await Http.GetFromJsonAsync<JsonElement>($"/accounts/{id}/entries");
        return (account.GetProperty("balance").GetInt64(), entries.GetArrayLength());
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Channel.Dispose();
        await _factory.DisposeAsync();
        _certificate.Dispose();
    }

    private static SocketsHttpHandler Handler(X509Certificate2 certificate) => new()
    {
        EnableMultipleHttp2Connections = true,
        SslOptions = new SslClientAuthenticationOptions
        {
            // Trust exactly the test's own certificate.
            RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == certificate.GetCertHashString(),
        },
    };

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        // Through PKCS#12, so that the private key is one TLS can use on every platform.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }
}
