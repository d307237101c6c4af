using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Tests.Shared;

public sealed class GrpcStatusResponseTests
{
    [Theory]
    [InlineData("application/grpc", "application/grpc")]
    [InlineData("application/grpc+proto", "application/grpc")]
    [InlineData("Application/GRPC; charset=utf-8", "application/grpc")]
    [InlineData("application/grpc-web", "application/grpc-web")]
    [InlineData("application/grpc-web+proto", "application/grpc-web")]
    [InlineData("application/grpc-web-text", "application/grpc-web-text")]
    [InlineData("application/grpc-web-text+proto", "application/grpc-web-text")]
    public void IsGrpc_RecognisesEveryGrpcContentType_AndAnswersInItsProtocol(string requestType, string responseType)
    {
        var context = new DefaultHttpContext();
        context.Request.ContentType = requestType;

        Assert.True(GrpcStatusResponse.IsGrpc(context.Request, out var answer));
        Assert.Equal(responseType, answer);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("application/json")]
    [InlineData("application/grpcx")]
    [InlineData("application/grpc-webx")]
    [InlineData("text/application/grpc")]
    public void IsGrpc_IsFalse_ForOtherContentTypes(string? requestType)
    {
        var context = new DefaultHttpContext();
        context.Request.ContentType = requestType;

        Assert.False(GrpcStatusResponse.IsGrpc(context.Request, out _));
    }

    [Fact]
    public async Task WriteAsync_EndsTheCallTrailersOnly_WithTheStatusAndItsPercentEncodedMessage()
    {
        var context = new DefaultHttpContext();

        await GrpcStatusResponse.WriteAsync(context, "application/grpc", GrpcStatusResponse.PermissionDenied, "café 100%\nno");

        Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
        Assert.Equal("application/grpc", context.Response.ContentType);
        Assert.Equal("7", context.Response.Headers["grpc-status"]);
        Assert.Equal("caf%C3%A9 100%25%0Ano", context.Response.Headers["grpc-message"]);
    }
}
