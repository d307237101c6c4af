using System.Text.Json.Serialization;

namespace Idempotency.AspNetCore;

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
internal sealed partial class MirrorSafetyReportJsonContext : JsonSerializerContext;
