using Idempotency.AspNetCore.Mirroring;
using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Tests.Mirroring;

public sealed class MarkerTests
{
    [Fact]
    public void WithoutASecret_AnyValue_EvenEmpty_MarksACopy()
    {
        var detector = new ShadowCopyDetector(new MirroringOptions());

        Assert.Equal(ShadowCopyDetector.MarkerStatus.Valid, detector.CheckMarker(Request(("X-Shadow-Request", ""))));
        Assert.Equal(ShadowCopyDetector.MarkerStatus.Valid, detector.CheckMarker(Request(("x-shadow-request", "1"))));
        Assert.Equal(ShadowCopyDetector.MarkerStatus.Absent, detector.CheckMarker(Request()));
    }

    [Fact]
    public void WithASecret_OnlyTheExactSecret_SentOnce_MarksACopy()
    {
        var detector = new ShadowCopyDetector(new MirroringOptions { Secret = "abc123" });

        Assert.Equal(ShadowCopyDetector.MarkerStatus.Valid, detector.CheckMarker(Request(("X-Shadow-Request", "abc123"))));
        Assert.Equal(ShadowCopyDetector.MarkerStatus.Invalid, detector.CheckMarker(Request(("X-Shadow-Request", ""))));
        Assert.Equal(ShadowCopyDetector.MarkerStatus.Invalid, detector.CheckMarker(Request(("X-Shadow-Request", "abc1234"))));
        Assert.Equal(ShadowCopyDetector.MarkerStatus.Invalid, detector.CheckMarker(Request(("X-Shadow-Request", "ABC123"))));
        Assert.Equal(ShadowCopyDetector.MarkerStatus.Invalid, detector.CheckMarker(Request(("X-Shadow-Request", "abc123"), ("X-Shadow-Request", "abc123"))));
        Assert.Equal(ShadowCopyDetector.MarkerStatus.Absent, detector.CheckMarker(Request(("X-Other", "abc123"))));
    }

    private static HttpRequest Request(params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        foreach (var group in headers.GroupBy(h => h.Name, StringComparer.OrdinalIgnoreCase))
        {
            context.Request.Headers[group.Key] = group.Select(h => h.Value).ToArray();
        }

        return context.Request;
    }
}
