using Grpc.Core;

namespace Idempotency.Grpc.AspNetCore.Tests;

public sealed class GrpcResponseFormatTests
{
    [Fact]
    public void Read_ReturnsWhatWasWritten_TextAndBinaryMetadataIncluded()
    {
        var written = new StoredGrpcResponse(
            new Status(StatusCode.OK, "détail"),
            [0, 1, 2, 255],
            new Metadata { { "x-node", "a" }, { "x-trace-bin", [9, 8] }, { "x-node", "b" } },
            new Metadata { { "x-version", "7" } });

        var read = GrpcResponseFormat.Read(Content(written));

        Assert.Equal(written.Status, read.Status);
        Assert.Equal(written.Message, read.Message);
        Assert.Equal(["x-node=a", "x-trace-bin=0908", "x-node=b"], Describe(read.Headers));
        Assert.Equal(["x-version=7"], Describe(read.Trailers));
    }

    [Fact]
    public void Read_KeepsTheDifferenceBetweenNoMessageAndAnEmptyMessage()
    {
        var failed = GrpcResponseFormat.Read(Content(new StoredGrpcResponse(new Status(StatusCode.NotFound, "gone"), null, [], [])));
        var empty = GrpcResponseFormat.Read(Content(new StoredGrpcResponse(Status.DefaultSuccess, [], [], [])));

        Assert.Null(failed.Message);
        Assert.Equal(StatusCode.NotFound, failed.Status.StatusCode);
        Assert.Equal([], Assert.IsType<byte[]>(empty.Message));
    }

    [Fact]
    public void Read_RefusesTruncatedContent_AsCorrupt()
    {
        var content = Content(new StoredGrpcResponse(Status.DefaultSuccess, [1, 2, 3], new Metadata { { "x-a", "b" } }, []));

        for (var length = 0; length < content.Length; length++)
        {
            Assert.Throws<InvalidDataException>(() => GrpcResponseFormat.Read(content.AsMemory(0, length)));
        }
    }

    [Fact]
    public void Read_RefusesAnUnknownVersion()
    {
        var content = Content(new StoredGrpcResponse(Status.DefaultSuccess, [1], [], []));
        content[0] = 3; // version 2 is the outcome too large to store

        var error = Assert.Throws<InvalidDataException>(() => GrpcResponseFormat.Read(content));

        Assert.Contains("version 3", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(StatusCode.OK)]
    [InlineData(StatusCode.NotFound)]
    public void OmittedContent_RoundTrips_AsTheStatusCodeAlone(StatusCode code)
    {
        var content = GrpcResponseFormat.OmittedContent(code);
        var bytes = new byte[content.Length];
        content.WriteTo(bytes);

        var read = GrpcResponseFormat.Read(bytes);

        Assert.Equal(5, bytes.Length);
        Assert.True(read.IsOmitted);
        Assert.Equal(code, read.Status.StatusCode);
        Assert.Null(read.Message);
        Assert.Empty(read.Headers);
        Assert.Empty(read.Trailers);
    }

    [Fact]
    public void OmittedContent_WithBytesAfterItsStatus_IsCorrupt()
    {
        var error = Assert.Throws<InvalidDataException>(() => GrpcResponseFormat.Read(new byte[] { 2, 0, 0, 0, 0, 1 }));

        Assert.Contains("corrupt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EncodedLength_IsTheLengthOfTheContent()
    {
        var response = new StoredGrpcResponse(
            new Status(StatusCode.NotFound, "détail"),
            [1, 2, 3],
            new Metadata { { "x-h", "v" }, { "x-h-bin", new byte[] { 9, 9 } } },
            new Metadata { { "x-t", "ü" } });

        Assert.Equal(Content(response).Length, GrpcResponseFormat.EncodedLength(response));
    }

    [Theory]
    [InlineData(StatusCode.OK, false)]
    [InlineData(StatusCode.InvalidArgument, false)]
    [InlineData(StatusCode.NotFound, false)]
    [InlineData(StatusCode.AlreadyExists, false)]
    [InlineData(StatusCode.PermissionDenied, false)]
    [InlineData(StatusCode.FailedPrecondition, false)]
    [InlineData(StatusCode.OutOfRange, false)]
    [InlineData(StatusCode.Unauthenticated, false)]
    [InlineData(StatusCode.Cancelled, true)]
    [InlineData(StatusCode.Unknown, true)]
    [InlineData(StatusCode.DeadlineExceeded, true)]
    [InlineData(StatusCode.ResourceExhausted, true)]
    [InlineData(StatusCode.Aborted, true)]
    [InlineData(StatusCode.Unimplemented, true)]
    [InlineData(StatusCode.Internal, true)]
    [InlineData(StatusCode.Unavailable, true)]
    [InlineData(StatusCode.DataLoss, true)]
    public void IsTransient_ReleasesTheEquivalentsOfHttp5xx408And429_AndStoresTheRest(StatusCode code, bool transient) =>
        Assert.Equal(transient, GrpcIdempotencyInterceptor.IsTransient(code));

    private static byte[] Content(StoredGrpcResponse response)
    {
        var content = GrpcResponseFormat.Content(response);
        var bytes = new byte[content.Length];
        content.WriteTo(bytes);
        return bytes;
    }

    private static List<string> Describe(Metadata metadata) =>
        metadata.Select(entry => entry.Key + "=" + (entry.IsBinary ? Convert.ToHexString(entry.ValueBytes) : entry.Value)).ToList();
}
