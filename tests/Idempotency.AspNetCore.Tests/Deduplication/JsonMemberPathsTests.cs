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
