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

    /// <summary>
    /// Writes the JSON read from <paramref name="json"/> to <paramref name="output"/> exactly as <see cref="TryFilter"/>
    /// writes it, holding only a window of at most <paramref name="maxTokenLength"/> bytes (rounded up to the pool's
    /// array size) from the shared pool, however long the body. Returns <see langword="false"/> when it is not one valid
    /// JSON value, or when one token (a string, a number, a member name) does not fit the window; the stream is then not
    /// necessarily read to its end, and what was written to <paramref name="output"/> is to be discarded.
    /// </summary>
    public async ValueTask<bool> TryFilterAsync(Stream json, IBufferWriter<byte> output, int maxTokenLength, CancellationToken cancellationToken)
    {
        var filter = new StreamingFilter(_root);
        using var writer = new Utf8JsonWriter(output);
        var window = ArrayPool<byte>.Shared.Rent(Math.Min(StreamingWindowSize, maxTokenLength));
        var filled = 0;
        try
        {
            while (true)
            {
                var read = await json.ReadAsync(window.AsMemory(filled), cancellationToken);
                filled += read;
                var final = read == 0;
                int consumed;
                try
                {
                    consumed = filter.Feed(window.AsSpan(0, filled), final, writer);
                    writer.Flush();
                }
                catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
                {
                    return false; // as in TryFilter
                }

                if (final)
                {
                    return filter.Completed;
                }

                // What the reader could not use yet is the start of a token: it moves to the front, and the window
                // grows only when one token fills it.
                window.AsSpan(consumed, filled - consumed).CopyTo(window);
                filled -= consumed;
                if (filled == window.Length)
                {
                    filled = CollapseWhitespace(window, filled);
                }

                if (filled == window.Length)
                {
                    if (window.Length >= maxTokenLength)
                    {
                        return false;
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(window.Length * 2);
                    window.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(window);
                    window = larger;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(window);
        }
    }

    private const int StreamingWindowSize = 16 * 1024;

    // The reader leaves whitespace unconsumed until the token after it is whole (between a member name and its colon,
    // say): a run of whitespace longer than the window would count as a token too long. Outside strings a run of
    // whitespace means only that it is there, to the reader and to the filter (its output is compact), so when the
    // window is full each run becomes one space. What the reader left starts at a token's boundary, outside any string.
    // Run only on a full window, each pass either frees what arrived since the last or leaves the window to grow.
    private static int CollapseWhitespace(byte[] window, int filled)
    {
        var length = 0;
        var inString = false;
        var escaped = false;
        var afterSpace = false;
        for (var i = 0; i < filled; i++)
        {
            var b = window[i];
            if (inString)
            {
                inString = escaped || b != (byte)'"';
                escaped = !escaped && b == (byte)'\\';
            }
            else if (b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
            {
                if (afterSpace)
                {
                    continue;
                }

                afterSpace = true;
                window[length++] = (byte)' ';
                continue;
            }
            else
            {
                inString = b == (byte)'"';
            }

            afterSpace = false;
            window[length++] = b;
        }

        return length;
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
            default:
                WriteScalar(ref reader, writer);
                break;
        }
    }

    // A string, number, boolean or null as the filtered form writes it, whichever filter reads it (the in-memory one
    // above or the windowed one below): both must write the same bytes for the same input.
    private static void WriteScalar(ref Utf8JsonReader reader, Utf8JsonWriter writer)
    {
        switch (reader.TokenType)
        {
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

    /// <summary>
    /// <see cref="WriteValue"/> one token at a time, for a body read in windows: the reader's state, the open
    /// containers and a member being skipped carry over from one window to the next.
    /// </summary>
    private sealed class StreamingFilter(Node root)
    {
        private readonly Stack<(Node? Node, bool IsObject)> _containers = new();
        private JsonReaderState _state;
        private Node? _member; // the node of the value after the last member name written
        private int _skipDepth = -1; // the depth of an excluded member's name while its value is skipped

        /// <summary>Gets whether one whole JSON value was written.</summary>
        public bool Completed { get; private set; }

        /// <summary>Writes the whole tokens of <paramref name="data"/>; returns how many bytes they took.</summary>
        public int Feed(ReadOnlySpan<byte> data, bool final, Utf8JsonWriter writer)
        {
            var reader = new Utf8JsonReader(data, final, _state);
            while (reader.Read())
            {
                Write(ref reader, writer);
            }

            _state = reader.CurrentState;
            return (int)reader.BytesConsumed;
        }

        private void Write(ref Utf8JsonReader reader, Utf8JsonWriter writer)
        {
            if (_skipDepth >= 0)
            {
                // The excluded value ends with a token at its name's depth that opens nothing: a primitive, or the
                // end of the object or array it is.
                if (reader.CurrentDepth == _skipDepth && reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
                {
                    _skipDepth = -1;
                }

                return;
            }

            if (Completed)
            {
                throw new JsonException("More than one JSON value.");
            }

            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    _containers.Push((ValueNode(), true));
                    writer.WriteStartObject();
                    return;
                case JsonTokenType.StartArray:
                    _containers.Push((ValueNode(), false));
                    writer.WriteStartArray();
                    return;
                case JsonTokenType.EndObject:
                    _containers.Pop();
                    writer.WriteEndObject();
                    break;
                case JsonTokenType.EndArray:
                    _containers.Pop();
                    writer.WriteEndArray();
                    break;
                case JsonTokenType.PropertyName:
                    var name = reader.GetString()!;
                    Node? child = null;
                    _containers.Peek().Node?.Children?.TryGetValue(name, out child);
                    if (child is { Excluded: true })
                    {
                        _skipDepth = reader.CurrentDepth;
                        return;
                    }

                    writer.WritePropertyName(name);
                    _member = child;
                    return;
                default:
                    WriteScalar(ref reader, writer);
                    break;
            }

            Completed = _containers.Count == 0;
        }

        // As WriteValue passes it down: the root at the top, a member's child node in an object, the array's own node
        // for its elements (arrays add no level).
        private Node? ValueNode() => _containers.Count == 0 ? root : _containers.Peek() is { IsObject: true } ? _member : _containers.Peek().Node;
    }

    private sealed class Node
    {
        public Dictionary<string, Node>? Children { get; set; }

        public bool Excluded { get; set; }
    }
}
