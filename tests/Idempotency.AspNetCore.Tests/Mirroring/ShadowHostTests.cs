using System.Net.Sockets;
using System.Text;
using Idempotency.AspNetCore.Mirroring;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.AspNetCore.Tests.Mirroring;

/// <summary>The Host header vectors of REFERENCE.md section 4, against the detector and against Kestrel itself.</summary>
public sealed class ShadowHostTests
{
    [Theory]
    [InlineData("orders-shadow")]
    [InlineData("orders-shadow:8080")]
    [InlineData("ORDERS-SHADOW")]
    [InlineData("orders.default.svc.cluster.local-shadow")]
    public void TheShadowFormOfAConfiguredHost_IsACopy(string host)
    {
        Assert.True(Detector("orders").IsShadowHost(host));
    }

    [Fact]
    public void TheConfiguredHostItself_IsNotACopy()
    {
        Assert.False(Detector("orders").IsShadowHost("orders"));
        Assert.False(Detector("orders").IsShadowHost("orders:8080"));
    }

    [Fact]
    public void TheShadowFormOfAnotherHost_IsNotACopy_UnlessAnyShadowHostIsAccepted()
    {
        Assert.False(Detector("orders").IsShadowHost("my-shadow"));
        Assert.True(Detector(acceptAny: true).IsShadowHost("my-shadow"));
        Assert.True(Detector(acceptAny: true).IsShadowHost("MY-Shadow:443"));
    }

    [Theory]
    [InlineData("orders:8080-shadow")]
    [InlineData("[::1]-shadow:8080")]
    [InlineData("-shadow")]
    [InlineData("orders-shadow:")]
    [InlineData("orders-shadow:80a")]
    [InlineData("orders-shadowx")]
    [InlineData("")]
    [InlineData(null)]
    public void AHostThatDoesNotEndInTheSuffixBeforeAnAllDigitPort_IsNotACopy_EvenWhenAnyShadowHostIsAccepted(string? host)
    {
        Assert.False(Detector(acceptAny: true).IsShadowHost(host));
    }

    [Fact]
    public void HostsMatchAcrossKubernetesShortAndFullNames_ButNotAcrossDifferentNames()
    {
        Assert.True(Detector("orders.default.svc.cluster.local").IsShadowHost("orders-shadow"));
        Assert.True(Detector("orders").IsShadowHost("orders.default-shadow:80"));
        Assert.False(Detector("orders").IsShadowHost("ordersx-shadow"));
        Assert.False(Detector("orders.prod").IsShadowHost("orders.staging-shadow"));
    }

    [Fact]
    public void WithoutShadowHostsConfigured_NoHostIsACopy()
    {
        Assert.False(Detector().IsShadowHost("orders-shadow"));
    }

    [Theory]
    [InlineData("orders", "no copy")]
    [InlineData("orders-shadow", "copy by ShadowHost")]
    [InlineData("orders-shadow:8080", "copy by ShadowHost")]
    [InlineData("ORDERS-SHADOW", "copy by ShadowHost")]
    [InlineData("orders.default.svc.cluster.local-shadow", "copy by ShadowHost")]
    [InlineData("my-shadow", "no copy")]
    public async Task Kestrel_DeliversEachValidHostVector_AndTheCanaryRecognisesCopiesByIt(string host, string expected)
    {
        await using var canary = await StartAsync(MirrorRole.Canary);

        var (status, body) = await SendRawAsync(canary.App.Port, host);

        Assert.Equal(200, status);
        Assert.Equal(expected, body);
    }

    [Fact]
    public async Task Kestrel_RecognisesMyShadow_WhenAnyShadowHostIsAccepted()
    {
        await using var canary = await StartAsync(MirrorRole.Canary, acceptAny: true);

        Assert.Equal((200, "copy by ShadowHost"), await SendRawAsync(canary.App.Port, "my-shadow"));
    }

    [Theory]
    [InlineData("orders:8080-shadow")]
    [InlineData("[::1]-shadow:8080")]
    public async Task Kestrel_Answers400_BeforeAnyMiddleware_ForASuffixAfterThePort(string host)
    {
        await using var canary = await StartAsync(MirrorRole.Canary, acceptAny: true);

        var (status, _) = await SendRawAsync(canary.App.Port, host);

        Assert.Equal(400, status);
        Assert.Equal(0, canary.Reached);
    }

    [Fact]
    public async Task AMarkerHeader_OnAnInstanceNotConfiguredForCopies_IsNotACopy()
    {
        await using var primary = await StartAsync(MirrorRole.Primary, acceptAny: true);

        var (status, body) = await SendRawAsync(primary.App.Port, "orders", "X-Shadow-Request: 1");

        Assert.Equal((200, "no copy"), (status, body));
        Assert.Equal(1, primary.Reached);
    }

    [Fact]
    public async Task AShadowHost_OnAPrimary_IsNotACopy()
    {
        await using var primary = await StartAsync(MirrorRole.Primary, acceptAny: true);

        Assert.Equal((200, "no copy"), await SendRawAsync(primary.App.Port, "orders-shadow"));
    }

    private static ShadowCopyDetector Detector(string? host = null, bool acceptAny = false)
    {
        var options = new MirroringOptions { AcceptAnyShadowHost = acceptAny };
        if (host is not null)
        {
            options.ShadowHosts.Add(host);
        }

        return new ShadowCopyDetector(options);
    }

    private static async Task<Instance> StartAsync(MirrorRole role, bool acceptAny = false)
    {
        var instance = new Instance();
        instance.App = await LoopbackApp.StartAsync(
            services => services.AddMirroring(o =>
            {
                o.Role = role;
                o.ShadowHosts.Add("orders");
                o.AcceptAnyShadowHost = acceptAny;
            }),
            app =>
            {
                app.Use((context, next) =>
                {
                    Interlocked.Increment(ref instance.ReachedCount);
                    return next(context);
                });
                app.UseMirrorGuard();
            },
            endpoints => endpoints.MapGet("/whoami", (HttpContext context) =>
                context.Features.Get<IMirroredRequestFeature>() is { } copy ? $"copy by {copy.Signal}" : "no copy"));
        return instance;
    }

    /// <summary>Sends a GET with exactly this Host header, which HttpClient would refuse to send for the invalid vectors.</summary>
    private static async Task<(int Status, string Body)> SendRawAsync(int port, string host, string? extraHeader = null)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        var request = $"GET /whoami HTTP/1.1\r\nHost: {host}\r\n{(extraHeader is null ? string.Empty : extraHeader + "\r\n")}Connection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var response = await reader.ReadToEndAsync();
        var status = int.Parse(response.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
        var body = response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        return (status, Dechunk(body));
    }

    private static string Dechunk(string body)
    {
        // Minimal APIs stream string results with chunked encoding: "<hex length>\r\n<data>\r\n0\r\n\r\n".
        var lines = body.Split("\r\n");
        return lines.Length >= 2 && int.TryParse(lines[0], System.Globalization.NumberStyles.HexNumber, null, out _) ? lines[1] : body;
    }

    private sealed class Instance : IAsyncDisposable
    {
        public int ReachedCount;

        public LoopbackApp App { get; set; } = null!;

        public int Reached => Volatile.Read(ref ReachedCount);

        public ValueTask DisposeAsync() => App.DisposeAsync();
    }
}
