using System.Globalization;

namespace Idempotency.Chaos.Tests.Infrastructure;

/// <summary>
/// Seeds and sizes of a chaos run, from the environment so that the soak script and a failing run can be replayed:
/// <c>CHAOS_SEED</c> replaces every test's fixed seed, <c>CHAOS_SCALE</c> multiplies request counts and fault rounds
/// (1 in the normal test run; <c>scripts/chaos-soak.sh</c> sets 10), <c>CHAOS_REPORT</c> names a Markdown file that
/// every test appends its figures to.
/// </summary>
internal static class ChaosSettings
{
    public static int Scale { get; } = ReadInt("CHAOS_SCALE") is > 0 and var scale ? scale : 1;

    public static string? ReportPath { get; } = Environment.GetEnvironmentVariable("CHAOS_REPORT") is { Length: > 0 } path ? path : null;

    /// <summary>The test's own seed, unless <c>CHAOS_SEED</c> says otherwise.</summary>
    public static int Seed(int testSeed) => ReadInt("CHAOS_SEED") ?? testSeed;

    public static int Scaled(int count) => checked(count * Scale);

    private static int? ReadInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
}
