using System.Buffers;
using System.Text.Json;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// The members of a JSON body that a policy leaves out of the fingerprint (<see cref="IdempotencyPolicy.FingerprintExcludedJsonMembers"/>),
/// as a tree of member names: <c>meta.sentAt</c> is the child <c>sentAt</c> of <c>meta</c>. Arrays add no level.
/// </summary>
internal sealed class JsonMemberPaths
{
    private readonly Node _root = new();

    private JsonMemberPaths(string[] paths)
    {
        foreach (var path in paths)
        {
            var node = _root;
            foreach (var segment in path.Split('.'))
            {
                node.Children ??= new Dictionary<string, Node>(StringComparer.Ordinal);
                if (!node.Children.TryGetValue(segment, out var child))
                {
                    child = new Node();
                    node.Children[segment] = child;
                }

                node = child;
            }

            node.Excluded = true;
        }

        Description = string.Join(",", paths);
    }

    /// <summary>Gets the paths, sorted and comma-joined: hashed with a filtered body, so that a change of the list changes the fingerprint.</summary>
    public string Description { get; }

    /// <summary>Whether <paramref name="path"/> is one or more non-empty member names separated by <c>.</c>.</summary>
    public static bool IsValid(string? path) => !string.IsNullOrEmpty(path) && !path.Split('.').Any(static segment => segment.Length == 0);

    /// <summary>The paths of <paramref name="paths"/>, or <see langword="null"/> when there are none.</summary>
    public static JsonMemberPaths? Create(IEnumerable<string> paths)
    {
        string[] distinct = [.. paths.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        return distinct.Length == 0 ? null : new JsonMemberPaths(distinct);
    }

    /// <summary>
    /// Writes <paramref name="json"/> compactly to <paramref name="output"/> without the excluded members; returns
    /// <see langword="false"/> when it is not one valid JSON value (the caller then fingerprints the bytes as sent).
    /// </summary>
    public bool TryFilter(ReadOnlySpan<byte> json, IBufferWriter<byte> output)
    {
        var reader = new Utf8JsonReader(json);
        try
        {
            using var writer = new Utf8JsonWriter(output);
            if (!reader.Read())
            {
                return false;
            }

            WriteValue(ref reader, writer, _root);
            if (reader.Read())
            {
                return false;
            }

            writer.Flush();
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            // Not JSON (JsonException), a string that is not valid UTF-8 (InvalidOperationException), or an escaped lone
            // surrogate the writer refuses (ArgumentException): fingerprinted as sent.
            return false;
        }
    }

    // node: where the value sits in the tree of excluded paths; null once no excluded path goes deeper.
    private static void WriteValue(ref Utf8JsonReader reader, Utf8JsonWriter writer, Node? node)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                writer.WriteStartObject();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    var name = reader.GetString()!;
                    Node? child = null;
                    node?.Children?.TryGetValue(name, out child);
                    reader.Read();
                    if (child is { Excluded: true })
                    {
                        reader.Skip();
                        continue;
                    }

                    writer.WritePropertyName(name);
                    WriteValue(ref reader, writer, child);
                }

                writer.WriteEndObject();
                break;
            case JsonTokenType.StartArray:
                writer.WriteStartArray();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    WriteValue(ref reader, writer, node);
                }

                writer.WriteEndArray();
                break;
            case JsonTokenType.String:
                writer.WriteStringValue(reader.GetString());
                break;
            case JsonTokenType.Number:
                writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                break;
            case JsonTokenType.True or JsonTokenType.False:
                writer.WriteBooleanValue(reader.GetBoolean());
                break;
            case JsonTokenType.Null:
                writer.WriteNullValue();
                break;
            default:
                throw new JsonException($"Unexpected JSON token {reader.TokenType}.");
        }
    }

    private sealed class Node
    {
        public Dictionary<string, Node>? Children { get; set; }

        public bool Excluded { get; set; }
    }
}
