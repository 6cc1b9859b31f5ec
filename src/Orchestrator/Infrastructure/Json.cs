using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Infrastructure;

/// <summary>The wire format shared by the API, the database's JSON columns and the tests.</summary>
public static class Json
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions());

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        // Python clients read "+00:00" and non-ASCII names as they are; no HTML-safe escaping.
        options.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        options.Converters.Add(new UtcDateTimeConverter());
        options.Converters.Add(new SecondsTimeSpanConverter());
        return options;
    }

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Deserialize<T>(string text) => JsonSerializer.Deserialize<T>(text, Options)!;

    /// <summary>
    /// Decision D7: always six fractional digits and an explicit <c>+00:00</c>, which is what Python's
    /// <c>datetime.fromisoformat</c> in 2.7 clients parses reliably.
    /// </summary>
    public static string FormatTimestamp(DateTime value) =>
        DateTime.SpecifyKind(value, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'", CultureInfo.InvariantCulture);

    /// <summary>Any ISO-8601 form; a value without an offset is taken as UTC.</summary>
    public static bool TryParseTimestamp(string text, out DateTime value)
    {
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset parsed)
            && text.Length >= 10 && char.IsAsciiDigit(text[0]))
        {
            value = Clock.TruncateToMicroseconds(parsed.UtcDateTime);
            return true;
        }

        value = default;
        return false;
    }
}

public sealed class UtcDateTimeConverter : JsonConverter<DateTime>
{
    public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Json.TryParseTimestamp(reader.GetString() ?? "", out DateTime value)
            ? value
            : throw new JsonException("invalid datetime format");

    public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options) =>
        writer.WriteStringValue(Json.FormatTimestamp(value));
}

/// <summary>
/// Enums travel as their upper-case names (<c>"RUNNING"</c>, <c>"ACCEPT"</c>), never as numbers. An enum
/// opts in with <c>[JsonConverter(typeof(UpperCaseEnumConverter&lt;T&gt;))]</c>, so this layer needs to
/// know none of them.
/// </summary>
public sealed class UpperCaseEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(JsonNamingPolicy.SnakeCaseUpper, allowIntegerValues: false)
    where TEnum : struct, Enum;

/// <summary>Durations travel as a number of seconds, as Python's pydantic writes a timedelta.</summary>
public sealed class SecondsTimeSpanConverter : JsonConverter<TimeSpan>
{
    public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        TimeSpan.FromSeconds(reader.GetDouble());

    public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
        writer.WriteNumberValue(value.TotalSeconds);
}
