using System.Net;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>
/// Regression: a request whose body cannot be read (Kestrel's "Bad chunk size data", a body over the size limit) got 500
/// from the middleware, where ASP.NET Core answers 400 or the server's status; found by the chaos suite's fuzz run.
/// </summary>
public sealed class UnreadableBodyTests
{
    [Theory]
    [InlineData("io", HttpStatusCode.BadRequest)]
    [InlineData("413", HttpStatusCode.RequestEntityTooLarge)]
    [InlineData("408", HttpStatusCode.RequestTimeout)]
    public async Task UnreadableBody_GetsTheClientErrorStatus_BeforeAnyStoreAccess(string failure, HttpStatusCode expected)
    {
        var executions = 0;
        var store = new CountingStore();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddIdempotency();
        builder.Services.AddSingleton<IIdempotencyStore>(store);
        await using var app = builder.Build();
        app.Use((context, next) =>
        {
            context.Request.Body = new FailingStream(failure);
            return next(context);
        });
        app.UseIdempotency();
        app.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireIdempotency();
        await app.StartAsync();

        var response = await app.GetTestClient().SendAsync(TestApp.Post("/pay", "k1"));

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(0, executions);
        Assert.Equal(0, store.Calls);
    }

    private sealed class FailingStream(string failure) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => 0; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw Failure();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromException<int>(Failure());

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromException<int>(Failure());

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private Exception Failure() => failure switch
        {
            "io" => new IOException("Bad chunk size data."),
            _ => new BadHttpRequestException("The request body cannot be read.", int.Parse(failure, System.Globalization.CultureInfo.InvariantCulture)),
        };
    }
}
