namespace Idempotency.Core.Tests.ConditionalWrites;

public sealed class ConditionalWriteResultTests
{
    [Fact]
    public void Applied_CarriesTheNewVersion()
    {
        var result = ConditionalWriteResult.Applied(564);

        Assert.Equal(ConditionalWriteStatus.Applied, result.Status);
        Assert.Equal(564, result.Version);
        Assert.True(result.IsApplied);
        Assert.Equal("Applied(564)", result.ToString());
    }

    [Fact]
    public void VersionConflict_CarriesTheCurrentVersion()
    {
        var result = ConditionalWriteResult.VersionConflict(564);

        Assert.Equal(ConditionalWriteStatus.VersionConflict, result.Status);
        Assert.Equal(564, result.Version);
        Assert.False(result.IsApplied);
        Assert.NotEqual(ConditionalWriteResult.Applied(564), result);
    }

    [Fact]
    public void NotFound_IsNotApplied()
    {
        var result = ConditionalWriteResult.NotFound();

        Assert.Equal(ConditionalWriteStatus.NotFound, result.Status);
        Assert.False(result.IsApplied);
        Assert.Equal("NotFound", result.ToString());
    }

    [Fact]
    public void Default_IsNoneOfTheOutcomes()
    {
        var result = default(ConditionalWriteResult);

        Assert.False(Enum.IsDefined(result.Status));
        Assert.NotEqual(ConditionalWriteResult.NotFound(), result);
    }

    [Fact]
    public void Factories_Throw_WhenTheVersionIsNegative()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ConditionalWriteResult.Applied(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ConditionalWriteResult.VersionConflict(-1));
    }
}
