using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Infrastructure;

/// <summary>
/// A JSON value kept as the text the client sent. Used for free-form fields (<c>data</c>,
/// <c>parameters</c>, <c>context</c>, ...) so the server never reinterprets what it does not own.
/// </summary>
[JsonConverter(typeof(RawJsonConverter))]
public readonly record struct RawJson(string Text)
{
    public static readonly RawJson EmptyObject = new("{}");

    public static readonly RawJson EmptyArray = new("[]");

    public static RawJson From(JsonElement element) => new(element.GetRawText());

    public JsonElement Parse()
    {
        using JsonDocument document = JsonDocument.Parse(Text);
        return document.RootElement.Clone();
    }

    public override string ToString() => Text;
}

public sealed class RawJsonConverter : JsonConverter<RawJson>
{
    public override RawJson Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using JsonDocument document = JsonDocument.ParseValue(ref reader);
        return RawJson.From(document.RootElement);
    }

    public override void Write(Utf8JsonWriter writer, RawJson value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value.Text, skipInputValidation: true);
}
