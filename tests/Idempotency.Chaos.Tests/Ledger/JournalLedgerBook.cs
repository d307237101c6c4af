using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Idempotency.Chaos.Tests.Ledger;

/// <summary>
/// The ledger as an append-only journal file, for the crash tests: each effect is one line written with one
/// <c>write</c> call, so it is in the kernel's page cache, and survives a SIGKILL of the process, before the handler
/// answers. Line: incarnation, Unix time in milliseconds, operation id, key (<c>-</c> for none), then <c>account:delta</c>
/// legs, tab-separated.
/// </summary>
internal sealed class JournalLedgerBook : ILedgerBook, IDisposable
{
    private readonly Lock _lock = new();
    private readonly FileStream _file;
    private readonly int _incarnation;

    public JournalLedgerBook(string path, int incarnation)
    {
        _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize: 1);
        _incarnation = incarnation;
    }

    public ValueTask ApplyAsync(HttpContext context, LedgerPosting posting, CancellationToken cancellationToken)
    {
        var line = new StringBuilder()
            .Append(_incarnation.ToString(CultureInfo.InvariantCulture)).Append('\t')
            .Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)).Append('\t')
            .Append(posting.OperationId).Append('\t')
            .Append(posting.Key ?? "-");
        foreach (var leg in posting.Legs)
        {
            line.Append('\t').Append(leg.Account).Append(':').Append(leg.Delta.ToString(CultureInfo.InvariantCulture));
        }

        var bytes = Encoding.UTF8.GetBytes(line.Append('\n').ToString());
        lock (_lock)
        {
            _file.Write(bytes);
            _file.Flush();
        }

        return ValueTask.CompletedTask;
    }

    public Task<long?> BalanceAsync(string account) => Task.FromResult<long?>(null);

    public void Dispose() => _file.Dispose();
}
