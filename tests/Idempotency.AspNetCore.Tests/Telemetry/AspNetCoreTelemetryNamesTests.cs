using System.Diagnostics.Metrics;
using Idempotency.AspNetCore.Mirroring;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

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
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        using var copies = new MetricCollector<long>(meters, "Idempotency.AspNetCore", MirrorMetrics.CopiesInstrument);

        new MirrorMetrics(meters).Copy(MirrorSafetyClass.Unsafe, MirrorGuardAction.Suppressed);

        Assert.Equal("suppressed", Assert.Single(copies.GetMeasurementSnapshot()).Tags["action"]);
    }
}
