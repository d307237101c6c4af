namespace LedgerClient.Tests;

public sealed class ProgressBarTests
{
    [Fact]
    public void TheBar_IsRedrawnOnlyWhenItMoves_AndEndsTheLineWhenDone()
    {
        using var output = new StringWriter();
        var bar = new ProgressBar(total: 80, output);

        for (var done = 1; done <= 80; done++)
        {
            bar.Report(done);
        }

        var text = output.ToString();
        Assert.Equal(41, text.Count(c => c == '\r')); // 40 columns: 0 to 40 filled, once each
        Assert.EndsWith($"\r[{new string('#', 40)}] 80/80{Environment.NewLine}", text, StringComparison.Ordinal);
    }
}
