using System.Buffers;
using System.Text;
using Idempotency.AspNetCore.Deduplication;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>The filter behind <see cref="IdempotencyPolicy.FingerprintExcludedJsonMembers"/>.</summary>
public sealed class JsonMemberPathsTests
{
    [Theory]
    [InlineData("""{"a":1,"sentAt":"x"}""", """{"a":1}""")]
    [InlineData("""{ "a" : [1, 2.50, true, null, "s"], "sentAt": {"deep": [1]} }""", """{"a":[1,2.50,true,null,"s"]}""")]
    [InlineData("""{"meta":{"sentAt":1,"by":"a"}}""", """{"meta":{"by":"a"}}""")]
    [InlineData("""{"items":[{"sentAt":1,"n":1},{"n":2,"sentAt":2}]}""", """{"items":[{"n":1},{"n":2}]}""")]
    [InlineData("""[{"sentAt":1,"n":1}]""", """[{"n":1}]""")]
    [InlineData("""{"payee":{"sentAt":1}}""", """{"payee":{"sentAt":1}}""")]
    [InlineData("\"text\"", "\"text\"")]
    public void TryFilter_LeavesOutTheNamedMembers_AndWritesTheRestCompactly(string json, string expected)
    {
        var paths = JsonMemberPaths.Create(["sentAt", "meta.sentAt", "items.sentAt"])!;
        var output = new ArrayBufferWriter<byte>();

        Assert.True(paths.TryFilter(Encoding.UTF8.GetBytes(json), output));
        Assert.Equal(expected, Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Theory]
    [InlineData("""{"a":1""")]
    [InlineData("""{"a":1} trailing""")]
    [InlineData("""{"a":1,}""")]
    [InlineData("""{"a":"\ud800"}""")]
    [InlineData("")]
    public void TryFilter_RefusesWhatIsNotOneValidJsonValue(string json)
    {
        var paths = JsonMemberPaths.Create(["sentAt"])!;

        Assert.False(paths.TryFilter(Encoding.UTF8.GetBytes(json), new ArrayBufferWriter<byte>()));
    }

    [Fact]
    public void TryFilter_RefusesAStringThatIsNotUtf8()
    {
        var paths = JsonMemberPaths.Create(["sentAt"])!;
        byte[] json = [.. "{\"a\":\""u8, 0xFF, 0xFE, .. "\"}"u8];

        Assert.False(paths.TryFilter(json, new ArrayBufferWriter<byte>()));
    }

    public static TheoryData<string> StreamedBodies() =>
    [
        """{"a":1,"sentAt":"x"}""",
        """{ "a" : [1, 2.50, true, null, "s"], "sentAt": {"deep": [1, {"x": "y"}]} }""",
        """{"meta":{"sentAt":1,"by":"a"},"items":[{"sentAt":1,"n":1},{"n":2,"sentAt":[2,3]}]}""",
        """[{"sentAt":1,"n":1}, {"payee":{"sentAt":1}}]""",
        """{"payee":{"sentAt":1}}""",
        "\"text\"",
        "  12345  ",
        """{"note":"\u00e9\ud83d\ude00 <tag> \"q\" \n","sentAt":"\ud800"}""",
        """{"a":1""",
        """{"a":1} trailing""",
        """{"a":1} {"b":2}""",
        """{"a":1,}""",
        """{"a":"\ud800"}""",
        "",
        "   ",
        """{"sentAt":1}""" + new string(' ', 100_000),
        """{"a": 1,""" + new string(' ', 100_000) + """ "b"  """ + new string('\n', 70_000) + """: [1, """ + new string('\t', 70_000) + "2 ]}",
        """[1""" + new string(' ', 100_000) + "2]",
        """[1,""" + new string(' ', 100_000) + ",2]",
        """{"a":1,""" + new string(' ', 100_000) + "\"b c    \\\"  d\":   \"x \\\\\"   y\", \"sentAt\"  " + new string('\r', 70_000) + """: 1}""",
        "[" + string.Concat(Enumerable.Repeat("\"  s  \"    ,    ", 20_000)) + "0]",
        "{\"items\":[" + string.Join(",", Enumerable.Range(0, 5_000).Select(i => $$"""{"n":{{i}},"sentAt":"2026-01-01T00:00:{{i % 60:00}}Z"}""")) + "]}",
    ];

    [Theory]
    [MemberData(nameof(StreamedBodies))]
    public async Task TryFilterAsync_WritesWhatTryFilterWrites_WhateverTheReadsItTakes(string json)
    {
        var paths = JsonMemberPaths.Create(["sentAt", "meta.sentAt", "items.sentAt"])!;
        var bytes = Encoding.UTF8.GetBytes(json);
        var expected = new ArrayBufferWriter<byte>();
        var filters = paths.TryFilter(bytes, expected);

        foreach (var readSize in new[] { 1, 7, 4096, int.MaxValue })
        {
            var output = new ArrayBufferWriter<byte>();
            var streamed = await paths.TryFilterAsync(new TrickleStream(bytes, readSize), output, 64 * 1024, CancellationToken.None);

            Assert.Equal(filters, streamed);
            if (filters)
            {
                Assert.Equal(Encoding.UTF8.GetString(expected.WrittenSpan), Encoding.UTF8.GetString(output.WrittenSpan));
            }
        }
    }

    [Fact]
    public async Task TryFilterAsync_RefusesAStringThatIsNotUtf8()
    {
        var paths = JsonMemberPaths.Create(["sentAt"])!;
        byte[] json = [.. "{\"a\":\""u8, 0xFF, 0xFE, .. "\"}"u8];

        Assert.False(await paths.TryFilterAsync(new MemoryStream(json), new ArrayBufferWriter<byte>(), 64 * 1024, CancellationToken.None));
    }

    [Fact]
    public async Task TryFilterAsync_RefusesAToken_LongerThanTheLargestWindow()
    {
        // The window, the only memory the streaming filter holds for the body, never grows past the limit: a body with
        // a longer token is fingerprinted as sent instead.
        var paths = JsonMemberPaths.Create(["sentAt"])!;
        var longString = Encoding.UTF8.GetBytes("{\"doc\":\"" + new string('a', 70_000) + "\",\"sentAt\":1}");
        var fitting = Encoding.UTF8.GetBytes("{\"doc\":\"" + new string('a', 60_000) + "\",\"sentAt\":1}");

        Assert.False(await paths.TryFilterAsync(new MemoryStream(longString), new ArrayBufferWriter<byte>(), 64 * 1024, CancellationToken.None));
        Assert.True(await paths.TryFilterAsync(new MemoryStream(fitting), new ArrayBufferWriter<byte>(), 64 * 1024, CancellationToken.None));
    }

    /// <summary>A stream over bytes that returns at most a given number of bytes per read.</summary>
    private sealed class TrickleStream(byte[] bytes, int readSize) : MemoryStream(bytes)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, readSize)], cancellationToken);
    }

    [Theory]
    [InlineData("sentAt", true)]
    [InlineData("meta.sentAt", true)]
    [InlineData("", false)]
    [InlineData(".sentAt", false)]
    [InlineData("meta.", false)]
    [InlineData("meta..sentAt", false)]
    public void IsValid_AcceptsNonEmptyNamesSeparatedByDots(string path, bool valid)
    {
        Assert.Equal(valid, JsonMemberPaths.IsValid(path));
    }

    [Fact]
    public void Create_ReturnsNull_WithoutPaths_AndDescribesThemSortedAndDistinct()
    {
        Assert.Null(JsonMemberPaths.Create([]));
        Assert.Equal("meta.sentAt,sentAt", JsonMemberPaths.Create(["sentAt", "meta.sentAt", "sentAt"])!.Description);
    }
}
