using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Mirroring;
using Idempotency.AspNetCore.Preconditions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.AspNetCore.Tests.Mirroring;

public sealed class MirrorSafetyClassifierTests
{
    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    [InlineData("OPTIONS")]
    [InlineData("TRACE")]
    [InlineData("get")]
    public void SafeMethods_AreSafe_OnAnEndpointWithoutMetadata(string method)
    {
        var classification = MirrorSafety.ClassifyEndpoint(Endpoint(), method);

        Assert.Equal(new MirrorClassification(MirrorSafetyClass.Safe, MirrorSafetyReason.SafeMethod), classification);
        Assert.True(classification.IsMirrorableWithSharedData);
        Assert.True(classification.IsMirrorableWithIsolatedData);
    }

    [Theory]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public void PutAndDelete_AreIdempotent_MirrorableOnlyWithIsolatedData(string method)
    {
        var classification = MirrorSafety.ClassifyEndpoint(Endpoint(), method);

        Assert.Equal(new MirrorClassification(MirrorSafetyClass.Idempotent, MirrorSafetyReason.IdempotentMethod), classification);
        Assert.False(classification.IsMirrorableWithSharedData);
        Assert.True(classification.IsMirrorableWithIsolatedData);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PATCH")]
    [InlineData("PURGE")]
    public void UnsafeMethods_AreUnsafe_WithoutDeduplication(string method)
    {
        var classification = MirrorSafety.ClassifyEndpoint(Endpoint(), method);

        Assert.Equal(new MirrorClassification(MirrorSafetyClass.Unsafe, MirrorSafetyReason.UnsafeMethod), classification);
        Assert.False(classification.IsMirrorableWithSharedData);
        Assert.False(classification.IsMirrorableWithIsolatedData);
    }

    [Fact]
    public void Connect_IsUnsafe_EvenOnAnEndpointMarkedMirrorSafe()
    {
        var classification = MirrorSafety.ClassifyEndpoint(Endpoint(new MirrorSafeAttribute()), "CONNECT");

        Assert.Equal(new MirrorClassification(MirrorSafetyClass.Unsafe, MirrorSafetyReason.Connect), classification);
    }

    [Fact]
    public void AnEndpointWithoutAnyEndpoint_IsClassifiedByItsMethod()
    {
        Assert.Equal(MirrorSafetyClass.Safe, MirrorSafety.ClassifyEndpoint(null, "GET").Class);
        Assert.Equal(MirrorSafetyClass.Unsafe, MirrorSafety.ClassifyEndpoint(null, "POST").Class);
    }

    [Fact]
    public void MirrorSafeMetadata_MakesAPostSafe()
    {
        var classification = MirrorSafety.ClassifyEndpoint(Endpoint(new MirrorSafeAttribute()), "POST");

        Assert.Equal(new MirrorClassification(MirrorSafetyClass.Safe, MirrorSafetyReason.MarkedMirrorSafe), classification);
        Assert.True(classification.IsMirrorableWithSharedData);
    }

    [Fact]
    public void NotMirrorSafeMetadata_MakesAGetUnsafe()
    {
        var classification = MirrorSafety.ClassifyEndpoint(Endpoint(new NotMirrorSafeAttribute()), "GET");

        Assert.Equal(new MirrorClassification(MirrorSafetyClass.Unsafe, MirrorSafetyReason.MarkedNotMirrorSafe), classification);
        Assert.False(classification.IsMirrorableWithIsolatedData);
    }

    [Fact]
    public void NotMirrorSafeMetadata_OverridesARequiredIdempotencyKey()
    {
        var classification = MirrorSafety.ClassifyEndpoint(Endpoint(new RequireIdempotencyAttribute(), new NotMirrorSafeAttribute()), "POST");

        Assert.Equal(MirrorSafetyReason.MarkedNotMirrorSafe, classification.Reason);
    }

    [Fact]
    public void IdempotentByDesignMetadata_MakesAPostIdempotent()
    {
        var classification = MirrorSafety.ClassifyEndpoint(Endpoint(new IdempotentByDesignAttribute()), "POST");

        Assert.Equal(new MirrorClassification(MirrorSafetyClass.Idempotent, MirrorSafetyReason.MarkedIdempotent), classification);
    }

    [Fact]
    public void TheMetadataNearestTheEndpoint_Wins()
    {
        // Group conventions are added first, the endpoint's own last: .NotMirrorSafe() on the endpoint beats .MirrorSafe() on the group.
        var classification = MirrorSafety.ClassifyEndpoint(Endpoint(new MirrorSafeAttribute(), new NotMirrorSafeAttribute()), "GET");

        Assert.Equal(MirrorSafetyClass.Unsafe, classification.Class);
    }

    [Theory]
    [InlineData(MirrorSafetyDeclaration.NotMirrorSafe, MirrorSafetyDeclaration.MirrorSafe, MirrorSafetyClass.Unsafe)]
    [InlineData(MirrorSafetyDeclaration.NotMirrorSafe, MirrorSafetyDeclaration.IdempotentByDesign, MirrorSafetyClass.Unsafe)]
    [InlineData(MirrorSafetyDeclaration.IdempotentByDesign, MirrorSafetyDeclaration.MirrorSafe, MirrorSafetyClass.Idempotent)]
    [InlineData(MirrorSafetyDeclaration.MirrorSafe, MirrorSafetyDeclaration.IdempotentByDesign, MirrorSafetyClass.Idempotent)]
    public void TheMostCautiousDeclaration_Wins_WhicheverWasAddedLast(MirrorSafetyDeclaration first, MirrorSafetyDeclaration last, MirrorSafetyClass expected)
    {
        // MVC adds MapControllers() conventions after an action's attributes: the last declaration is not the nearest.
        var classification = MirrorSafety.ClassifyEndpoint(Endpoint(Declaring(first), Declaring(last)), "POST");

        Assert.Equal(expected, classification.Class);

        static object Declaring(MirrorSafetyDeclaration declaration) => declaration switch
        {
            MirrorSafetyDeclaration.MirrorSafe => new MirrorSafeAttribute(),
            MirrorSafetyDeclaration.IdempotentByDesign => new IdempotentByDesignAttribute(),
            _ => new NotMirrorSafeAttribute(),
        };
    }

    [Fact]
    public void ARequiredIdempotencyKey_MakesAPostDeduplicated_OnConditionOfTheKey()
    {
        var classification = MirrorSafety.ClassifyEndpoint(Endpoint(new RequireIdempotencyAttribute()), "POST");

        Assert.Equal(new MirrorClassification(MirrorSafetyClass.Deduplicated, MirrorSafetyReason.IdempotencyKeyRequired, MirrorRequestCondition.IdempotencyKey), classification);
        Assert.False(classification.IsMirrorableWithSharedData);
        Assert.True(classification.IsMirrorableWithIsolatedData);
    }

    [Fact]
    public void AnOptionalIdempotencyKey_LeavesTheEndpointUnsafe()
    {
        Assert.Equal(MirrorSafetyClass.Unsafe, MirrorSafety.ClassifyEndpoint(Endpoint(new EnableIdempotencyAttribute()), "POST").Class);
    }

    [Fact]
    public void DisabledIdempotency_LeavesTheEndpointUnsafe()
    {
        Assert.Equal(MirrorSafetyClass.Unsafe, MirrorSafety.ClassifyEndpoint(Endpoint(new RequireIdempotencyAttribute(), new DisableIdempotencyAttribute()), "POST").Class);
    }

    [Fact]
    public void ARequiredIdempotencyKey_DoesNotChangeASafeMethod()
    {
        Assert.Equal(MirrorSafetyReason.SafeMethod, MirrorSafety.ClassifyEndpoint(Endpoint(new RequireIdempotencyAttribute()), "GET").Reason);
    }

    [Fact]
    public void ARequiredPrecondition_MakesAPostConditional_OnConditionOfThePrecondition()
    {
        var classification = MirrorSafety.ClassifyEndpoint(Endpoint(new RequirePreconditionAttribute()), "POST");

        Assert.Equal(new MirrorClassification(MirrorSafetyClass.Conditional, MirrorSafetyReason.PreconditionRequired, MirrorRequestCondition.Precondition), classification);
        Assert.False(classification.IsMirrorableWithSharedData);
        Assert.True(classification.IsMirrorableWithIsolatedData);
    }

    [Fact]
    public void AnEndpointAcceptingAnyMethod_IsUnsafe_UnlessMarked()
    {
        Assert.Equal(new MirrorClassification(MirrorSafetyClass.Unsafe, MirrorSafetyReason.AnyMethod), MirrorSafety.ClassifyEndpoint(Endpoint(), MirrorSafety.AnyMethod));
        Assert.Equal(MirrorSafetyClass.Safe, MirrorSafety.ClassifyEndpoint(Endpoint(new MirrorSafeAttribute()), MirrorSafety.AnyMethod).Class);
        Assert.Equal(MirrorSafetyClass.Deduplicated, MirrorSafety.ClassifyEndpoint(Endpoint(new RequireIdempotencyAttribute()), MirrorSafety.AnyMethod).Class);
    }

    [Fact]
    public void AKeyedRequest_ToAnEndpointRequiringAKey_IsDeduplicated()
    {
        var context = Request("POST", Endpoint(new RequireIdempotencyAttribute()), ("Idempotency-Key", "\"k1\""));

        Assert.Equal(new MirrorClassification(MirrorSafetyClass.Deduplicated, MirrorSafetyReason.IdempotencyKeyRequired), MirrorSafety.ClassifyRequest(context));
    }

    [Fact]
    public void AKeylessRequest_ToAnEndpointRequiringAKey_IsUnsafe()
    {
        var context = Request("POST", Endpoint(new RequireIdempotencyAttribute()));

        Assert.Equal(new MirrorClassification(MirrorSafetyClass.Unsafe, MirrorSafetyReason.IdempotencyKeyMissing), MirrorSafety.ClassifyRequest(context));
    }

    [Fact]
    public void AKeylessPut_ToAnEndpointRequiringAKey_IsStillIdempotentByItsMethod()
    {
        var context = Request("PUT", Endpoint(new RequireIdempotencyAttribute()));

        Assert.Equal(MirrorSafetyReason.IdempotentMethod, MirrorSafety.ClassifyRequest(context).Reason);
    }

    [Fact]
    public void AKeyedRequest_ToAnEndpointWithAnOptionalKey_IsDeduplicated()
    {
        var context = Request("POST", Endpoint(new EnableIdempotencyAttribute()), ("Idempotency-Key", "k1"));

        Assert.Equal(new MirrorClassification(MirrorSafetyClass.Deduplicated, MirrorSafetyReason.IdempotencyKeySent), MirrorSafety.ClassifyRequest(context));
    }

    [Fact]
    public void TheKeyHeader_IsTheOneConfiguredForTheIdempotencyMiddleware()
    {
        var services = new ServiceCollection().AddIdempotency(o => o.HeaderName = "X-Request-Key").Services.BuildServiceProvider();
        var configured = Request("POST", Endpoint(new RequireIdempotencyAttribute()), ("X-Request-Key", "k1"));
        configured.RequestServices = services;
        var standard = Request("POST", Endpoint(new RequireIdempotencyAttribute()), ("Idempotency-Key", "k1"));
        standard.RequestServices = services;

        Assert.Equal(MirrorSafetyClass.Deduplicated, MirrorSafety.ClassifyRequest(configured).Class);
        Assert.Equal(MirrorSafetyClass.Unsafe, MirrorSafety.ClassifyRequest(standard).Class);
    }

    [Theory]
    [InlineData("If-Match")]
    [InlineData("If-None-Match")]
    public void AConditionalRequest_ToAnEndpointRequiringAPrecondition_IsConditional(string header)
    {
        var context = Request("PATCH", Endpoint(new RequirePreconditionAttribute()), (header, "\"563\""));

        Assert.Equal(new MirrorClassification(MirrorSafetyClass.Conditional, MirrorSafetyReason.PreconditionRequired), MirrorSafety.ClassifyRequest(context));
    }

    [Fact]
    public void AnUnconditionalRequest_ToAnEndpointRequiringAPrecondition_IsUnsafe()
    {
        var context = Request("POST", Endpoint(new RequirePreconditionAttribute()), ("If-Modified-Since", "Tue, 01 Jan 2030 00:00:00 GMT"));

        Assert.Equal(new MirrorClassification(MirrorSafetyClass.Unsafe, MirrorSafetyReason.PreconditionMissing), MirrorSafety.ClassifyRequest(context));
    }

    [Fact]
    public void AWebSocketUpgrade_IsUnsafe_EvenOnAGetMarkedMirrorSafe()
    {
        var context = Request("GET", Endpoint(new MirrorSafeAttribute()), ("Connection", "Upgrade"), ("Upgrade", "websocket"));

        Assert.Equal(new MirrorClassification(MirrorSafetyClass.Unsafe, MirrorSafetyReason.Upgrade), MirrorSafety.ClassifyRequest(context));
    }

    [Fact]
    public void AnUpgradableRequest_SeenThroughTheServerFeature_IsUnsafe()
    {
        var context = Request("GET", Endpoint());
        context.Features.Set<IHttpUpgradeFeature>(new UpgradableRequest());

        Assert.Equal(MirrorSafetyReason.Upgrade, MirrorSafety.ClassifyRequest(context).Reason);
    }

    [Fact]
    public void EveryReason_HasADescription()
    {
        foreach (var reason in Enum.GetValues<MirrorSafetyReason>())
        {
            var description = new MirrorClassification(MirrorSafetyClass.Unsafe, reason).Description;
            Assert.False(string.IsNullOrWhiteSpace(description));
            Assert.NotEqual(reason.ToString(), description);
        }
    }

    [Fact]
    public void ConventionsAndAttributes_AddTheSameMetadata()
    {
        var builder = WebApplication.CreateSlimBuilder();
        var app = builder.Build();
        app.MapPost("/a", () => "a").MirrorSafe();
        app.MapPost("/b", () => "b").NotMirrorSafe();
        app.MapPost("/c", () => "c").IdempotentByDesign();
        var endpoints = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).ToDictionary(e => ((RouteEndpoint)e).RoutePattern.RawText!);

        Assert.Equal(MirrorSafetyDeclaration.MirrorSafe, endpoints["/a"].Metadata.GetMetadata<IMirrorSafetyMetadata>()!.Declaration);
        Assert.Equal(MirrorSafetyDeclaration.NotMirrorSafe, endpoints["/b"].Metadata.GetMetadata<IMirrorSafetyMetadata>()!.Declaration);
        Assert.Equal(MirrorSafetyDeclaration.IdempotentByDesign, endpoints["/c"].Metadata.GetMetadata<IMirrorSafetyMetadata>()!.Declaration);
        Assert.Equal(new MirrorSafeAttribute().Declaration, endpoints["/a"].Metadata.GetMetadata<IMirrorSafetyMetadata>()!.Declaration);
        Assert.Equal(new NotMirrorSafeAttribute().Declaration, endpoints["/b"].Metadata.GetMetadata<IMirrorSafetyMetadata>()!.Declaration);
        Assert.Equal(new IdempotentByDesignAttribute().Declaration, endpoints["/c"].Metadata.GetMetadata<IMirrorSafetyMetadata>()!.Declaration);
    }

    internal static Endpoint Endpoint(params object[] metadata) => new(_ => Task.CompletedTask, new EndpointMetadataCollection(metadata), "test");

    private static DefaultHttpContext Request(string method, Endpoint endpoint, params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        foreach (var (name, value) in headers)
        {
            context.Request.Headers[name] = value;
        }

        context.SetEndpoint(endpoint);
        return context;
    }

    private sealed class UpgradableRequest : IHttpUpgradeFeature
    {
        public bool IsUpgradableRequest => true;

        public Task<Stream> UpgradeAsync() => throw new NotSupportedException();
    }
}
