using System.Globalization;
using System.Text;
using Xunit.Abstractions;

namespace Idempotency.Chaos.Tests.Infrastructure;

/// <summary>
/// The figures of one chaos run: printed to the test output as they are added (so a failing run shows its seed and
/// what happened so far), and appended as a Markdown table to <c>CHAOS_REPORT</c> when the run ends.
/// </summary>
internal sealed class ChaosReport
{
    private readonly ITestOutputHelper _output;
    private readonly string _title;
    private readonly List<(string Name, string Value)> _figures = [];

    public ChaosReport(ITestOutputHelper output, string title, int seed)
    {
        _output = output;
        _title = title;
        Add("seed", seed);
        Add("scale (CHAOS_SCALE)", ChaosSettings.Scale);
    }

    public void Add(string name, object value)
    {
        var text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
        _figures.Add((name, text));
        _output.WriteLine($"{_title} | {name}: {text}");
    }

    public void Note(string line) => _output.WriteLine($"{_title} | {line}");

    /// <summary>Appends the figures to the report file, if one was asked for; call it after the assertions too, in a finally.</summary>
    public void Flush(bool passed)
    {
        if (ChaosSettings.ReportPath is not { } path)
        {
            return;
        }

        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"### {_title} ({(passed ? "passed" : "FAILED")}, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC)")
            .AppendLine()
            .AppendLine("| figure | value |")
            .AppendLine("| --- | --- |");
        foreach (var (name, value) in _figures)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {value.Replace("|", "\\|", StringComparison.Ordinal)} |");
        }

        text.AppendLine();
        lock (s_fileLock)
        {
            File.AppendAllText(path, text.ToString());
        }
    }

    private static readonly Lock s_fileLock = new();
}
