using Idempotency.AspNetCore.Mirroring;

namespace Idempotency.AspNetCore.Tests.Telemetry;

public sealed class AspNetCoreTelemetryNamesTests
{
    [Fact]
    public void MeterName_IsThePackageName()
    {
        Assert.Equal("Idempotency.AspNetCore", typeof(IdempotencyAspNetCoreTelemetry).Assembly.GetName().Name);
        Assert.Equal(IdempotencyAspNetCoreTelemetry.MeterName, typeof(IdempotencyAspNetCoreTelemetry).Assembly.GetName().Name);
    }

    [Fact]
    public void MirroringInstruments_AreOnTheIdempotencyAspNetCoreMeter()
    {
        using var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(services);
        using var copies = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(meters, "Idempotency.AspNetCore", MirrorMetrics.CopiesInstrument);

        new MirrorMetrics(meters).Copy(MirrorSafetyClass.Unsafe, MirrorGuardAction.Suppressed);

        Assert.Equal("suppressed", Assert.Single(copies.GetMeasurementSnapshot()).Tags["action"]);
    }
}
