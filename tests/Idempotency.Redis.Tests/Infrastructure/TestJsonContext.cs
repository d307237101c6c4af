using System.Text.Json.Serialization;

namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>The JSON contracts of the results that executor tests store.</summary>
[JsonSerializable(typeof(int))]
internal sealed partial class TestJsonContext : JsonSerializerContext;
