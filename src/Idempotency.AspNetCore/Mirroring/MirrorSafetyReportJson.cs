using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Idempotency.AspNetCore.Mirroring;

/// <summary>The JSON shape of a <see cref="MirrorSafetyReport"/>.</summary>
internal sealed class MirrorSafetyReportDocument(IReadOnlyList<MirrorSafetyReportEntry> endpoints)
{
    public IReadOnlyList<MirrorSafetyReportEntry> Endpoints { get; } = endpoints;
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MirrorSafetyReportDocument))]
internal sealed partial class MirrorSafetyReportJsonContext : JsonSerializerContext
{
    private static MirrorSafetyReportJsonContext? s_relaxed;

    // The report is served as application/json to operators, never embedded in HTML: keep "=>" and "'" readable.
    // Built on first use: the generated Default is not yet initialized while this type's static fields are.
    public static MirrorSafetyReportJsonContext Relaxed =>
        s_relaxed ??= new(new JsonSerializerOptions(Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
