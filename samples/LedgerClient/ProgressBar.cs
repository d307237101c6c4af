namespace LedgerClient;

/// <summary>A one-line progress bar on the terminal; silent when the output is redirected to a file or a pipe.</summary>
internal sealed class ProgressBar(int total, TextWriter output) : IProgress<int>
{
    private const int Width = 40;
    private readonly Lock _lock = new();
    private int _lastDrawn = -1;

    public static IProgress<int>? ForConsole(int total) => Console.IsOutputRedirected ? null : new ProgressBar(total, Console.Out);

    public void Report(int value)
    {
        var filled = (int)((long)value * Width / total);
        lock (_lock)
        {
            // Redraw only when the bar moves or at the end: thousands of writes would slow the demo down.
            if (filled == _lastDrawn && value != total)
            {
                return;
            }

            _lastDrawn = filled;
            output.Write($"\r[{new string('#', filled)}{new string('.', Width - filled)}] {value}/{total}");
            if (value == total)
            {
                output.WriteLine();
            }
        }
    }
}
