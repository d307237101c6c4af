using System.Globalization;

namespace Idempotency.Chaos.Tests.Ledger;

/// <summary>One applied effect read back after a run: which incarnation of the process applied which operation, and when.</summary>
internal sealed record AppliedEffect(int Incarnation, DateTimeOffset At, string OperationId, string? Key, IReadOnlyList<LedgerLeg> Legs);

/// <summary>Reads the journal the chaos ledger processes append their effects to (see <see cref="JournalLedgerBook"/>).</summary>
internal static class Journal
{
    /// <summary>The complete lines of the journal, and how many lines were torn (none is expected: each is one write).</summary>
    public static (IReadOnlyList<AppliedEffect> Effects, int Torn) Read(string path)
    {
        var text = File.Exists(path) ? File.ReadAllText(path) : string.Empty;
        var effects = new List<AppliedEffect>();
        var torn = 0;
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Length == 0)
            {
                continue;
            }

            var fields = line.Split('\t');
            if (i == lines.Length - 1 || fields.Length < 5 || !int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var incarnation))
            {
                torn++; // the last piece has no newline: cut by the kill
                continue;
            }

            var legs = fields[4..].Select(f =>
            {
                var colon = f.LastIndexOf(':');
                return new LedgerLeg(f[..colon], long.Parse(f[(colon + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
            }).ToList();
            var at = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture));
            effects.Add(new AppliedEffect(incarnation, at, fields[2], fields[3] == "-" ? null : fields[3], legs));
        }

        return (effects, torn);
    }
}
