using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Orchestrator.Data;
using Orchestrator.Infrastructure;

namespace Orchestrator.Schemas.Validation;

/// <summary>
/// Reads one JSON object of a request against its schema and collects every problem with its location,
/// the way the Prefect server's pydantic models report them. Keys that are missing take the caller's
/// default; an explicit <c>null</c> is refused for fields that are not nullable; unknown keys are refused
/// when the schema forbids them (action models and filters) and ignored otherwise.
/// <para>
/// The same reading code also documents the schema: a reader made by <see cref="Describe"/> has no JSON
/// to read, and records each key it is asked for (with its type, and whether it is required or nullable)
/// instead, so the OpenAPI document shows exactly what validation accepts.
/// </para>
/// </summary>
public sealed class JsonObjectReader
{
    private readonly JsonElement _element;
    private readonly IReadOnlyList<object> _path;
    private readonly List<ValidationError> _errors;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);
    private readonly bool _forbidExtra;
    private readonly OpenApiSchema? _described;

    private JsonObjectReader(JsonElement element, IReadOnlyList<object> path, List<ValidationError> errors, bool forbidExtra, OpenApiSchema? described = null)
    {
        _element = element;
        _path = path;
        _errors = errors;
        _forbidExtra = forbidExtra;
        _described = described;
    }

    /// <summary>The schema of the object that <paramref name="read"/> reads, recorded rather than read.</summary>
    public static OpenApiSchema Describe(Action<JsonObjectReader> read, bool forbidExtra)
    {
        var schema = new OpenApiSchema { Type = JsonSchemaType.Object, Properties = new Dictionary<string, IOpenApiSchema>(), Required = new HashSet<string>() };
        var reader = new JsonObjectReader(default, ["body"], [], forbidExtra, schema);
        read(reader);
        reader.Finish();
        return schema;
    }

    /// <summary>A reader over a request body; <paramref name="body"/> of kind Undefined means no body was sent.</summary>
    public static JsonObjectReader ForBody(JsonElement body, bool forbidExtra, List<ValidationError> errors)
    {
        var reader = new JsonObjectReader(body, ["body"], errors, forbidExtra);
        if (body.ValueKind is not JsonValueKind.Object and not JsonValueKind.Undefined)
        {
            errors.Add(new ValidationError(["body"], "value is not a valid dict", "type_error.dict"));
        }

        return reader;
    }

    /// <summary>A reader over item <paramref name="index"/> of a request body that is a JSON list.</summary>
    public static JsonObjectReader ForListItem(JsonElement item, int index, bool forbidExtra, List<ValidationError> errors) =>
        new(item, ["body", index], errors, forbidExtra);

    /// <summary>Whether the key was sent at all (null included); PATCH bodies write only these.</summary>
    public bool Has(string key) => _element.ValueKind == JsonValueKind.Object && _element.TryGetProperty(key, out _);

    private static OpenApiSchema Of(JsonSchemaType type, string? format = null) => new() { Type = type, Format = format };

    public string? String(string key, bool required = false, bool nullable = true) =>
        Read(key, required, nullable, static e => e.ValueKind == JsonValueKind.String ? e.GetString() : null, "str type expected", "type_error.str",
            static () => Of(JsonSchemaType.String));

    /// <summary>
    /// A string stored in an indexed column (names, keys, tags, versions): at most
    /// <see cref="MaxNameLength"/> characters, which any encoding keeps under PostgreSQL's index-entry limit.
    /// </summary>
    public string? Name(string key, bool required = false, bool nullable = true) => Bounded(key, MaxNameLength, required, nullable);

    /// <summary>A string of at most <paramref name="maxLength"/> characters; the limit is part of the described schema.</summary>
    public string? Bounded(string key, int maxLength, bool required = false, bool nullable = true)
    {
        string? value = String(key, required, nullable);
        if (_described?.Properties?[key] is OpenApiSchema described)
        {
            described.MaxLength = maxLength;
        }

        if (value is not null && value.Length > maxLength)
        {
            Error(key, $"ensure this value has at most {maxLength} characters", "value_error.any_str.max_length");
            return null;
        }

        return value;
    }

    /// <summary>The longest name (<see cref="Name"/>) and list item of strings accepted.</summary>
    public const int MaxNameLength = 500;

    /// <summary>
    /// The most items a list may have. Filters turn each item into a query parameter (SQLite allows
    /// 32,766 in one statement) or a criterion; run tags become concurrency-limit lookups.
    /// </summary>
    public const int MaxListItems = 1000;

    public Guid? Uuid(string key, bool required = false, bool nullable = true) =>
        Read<Guid?>(key, required, nullable,
            static e => e.ValueKind == JsonValueKind.String && Guid.TryParse(e.GetString(), out Guid g) ? g : null,
            "value is not a valid uuid", "type_error.uuid", static () => Of(JsonSchemaType.String, "uuid"));

    public int? Int(string key, bool required = false, bool nullable = true) =>
        Read<int?>(key, required, nullable, ParseInt, "value is not a valid integer", "type_error.integer", static () => Of(JsonSchemaType.Integer));

    public double? Number(string key, bool required = false, bool nullable = true) =>
        Read<double?>(key, required, nullable,
            static e => e.ValueKind == JsonValueKind.Number ? e.GetDouble() : null,
            "value is not a valid float", "type_error.float", static () => Of(JsonSchemaType.Number));

    /// <summary>A duration in seconds: a number, or an ISO 8601 duration string (<c>"PT1H30M"</c>), as pydantic reads a timedelta.</summary>
    public double? Duration(string key, bool required = false, bool nullable = true) =>
        Read<double?>(key, required, nullable, static e => e.ValueKind switch
        {
            JsonValueKind.Number => e.GetDouble(),
            JsonValueKind.String => ParseIsoDuration(e.GetString()!),
            _ => null,
        }, "value is not a valid timedelta", "type_error", static () => Of(JsonSchemaType.Number));

    private static double? ParseIsoDuration(string text)
    {
        try
        {
            return System.Xml.XmlConvert.ToTimeSpan(text).TotalSeconds;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public bool? Bool(string key, bool required = false, bool nullable = true) =>
        Read<bool?>(key, required, nullable, static e => e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => null,
        }, "value could not be parsed to a boolean", "type_error.bool", static () => Of(JsonSchemaType.Boolean));

    public DateTime? Timestamp(string key, bool required = false, bool nullable = true) =>
        Read<DateTime?>(key, required, nullable,
            static e => e.ValueKind == JsonValueKind.String && Json.TryParseTimestamp(e.GetString()!, out DateTime t) ? t : null,
            "invalid datetime format", "value_error.datetime", static () => Of(JsonSchemaType.String, "date-time"));

    public StateType? StateType(string key, bool required = false, bool nullable = true) =>
        Read(key, required, nullable, static e => e.ValueKind == JsonValueKind.String ? StateTypes.FromWire(e.GetString()) : null,
            "value is not a valid enumeration member; permitted: 'SCHEDULED', 'PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED', 'PAUSED'",
            "type_error.enum", static () => StateTypeSchema());

    /// <summary>A string that must be one of <paramref name="allowed"/> (sort enums).</summary>
    public string? Enum(string key, IReadOnlyCollection<string> allowed) =>
        Read(key, false, true, e => e.ValueKind == JsonValueKind.String && allowed.Contains(e.GetString()!) ? e.GetString() : null,
            $"value is not a valid enumeration member; permitted: {string.Join(", ", allowed.Select(a => $"'{a}'"))}", "type_error.enum",
            () => new OpenApiSchema { Type = JsonSchemaType.String, Enum = allowed.Select(a => (JsonNode)JsonValue.Create(a)).ToList() });

    /// <summary>A JSON object kept verbatim (parameters, context, ...).</summary>
    public RawJson? Object(string key, bool required = false, bool nullable = true) =>
        Read<RawJson?>(key, required, nullable, static e => e.ValueKind == JsonValueKind.Object ? RawJson.From(e) : null,
            "value is not a valid dict", "type_error.dict", static () => new OpenApiSchema { Type = JsonSchemaType.Object, AdditionalPropertiesAllowed = true });

    /// <summary>Any JSON value kept verbatim; a JSON null reads as null.</summary>
    public RawJson? Any(string key)
    {
        _read.Add(key);
        if (_described is not null)
        {
            Note(key, new OpenApiSchema(), required: false, nullable: true);
            return null;
        }

        return TryGet(key, out JsonElement e) && e.ValueKind != JsonValueKind.Null ? RawJson.From(e) : null;
    }

    public List<string>? StringList(string key, bool required = false, bool nullable = true) =>
        List<string>(key, required, nullable, static e => e.ValueKind == JsonValueKind.String && e.GetString() is { Length: <= MaxNameLength } s ? s : null,
            $"str type expected, of at most {MaxNameLength} characters", "type_error.str",
            new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = MaxNameLength });

    public List<Guid>? UuidList(string key, bool required = false, bool nullable = true) =>
        List<Guid>(key, required, nullable,
            static e => e.ValueKind == JsonValueKind.String && Guid.TryParse(e.GetString(), out Guid g) ? g : (object?)null,
            "value is not a valid uuid", "type_error.uuid", Of(JsonSchemaType.String, "uuid"));

    public List<StateType>? StateTypeList(string key) =>
        List<StateType>(key, false, true, static e => e.ValueKind == JsonValueKind.String ? StateTypes.FromWire(e.GetString()) : (object?)null,
            "value is not a valid enumeration member", "type_error.enum", StateTypeSchema());

    /// <summary>A nested object read by <paramref name="read"/>; null when missing or null (if allowed).</summary>
    public T? Nested<T>(string key, Func<JsonObjectReader, T> read, bool forbidExtra, bool required = false, bool nullable = true)
        where T : class
    {
        _read.Add(key);
        if (_described is not null)
        {
            var nestedSchema = Describe(n => read(n), forbidExtra);
            Note(key, nestedSchema, required, nullable && !required);
            return null;
        }

        if (!TryGet(key, out JsonElement element))
        {
            if (required)
            {
                Error(key, "field required", "value_error.missing");
            }

            return null;
        }

        if (element.ValueKind == JsonValueKind.Null)
        {
            if (!nullable)
            {
                Error(key, "none is not an allowed value", "type_error.none.not_allowed");
            }

            return null;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            Error(key, "value is not a valid dict", "type_error.dict");
            return null;
        }

        var nested = new JsonObjectReader(element, [.. _path, key], _errors, forbidExtra);
        T value = read(nested);
        nested.Finish();
        return value;
    }

    /// <summary>Reports keys the schema does not know, when it forbids them. Call after reading every field.</summary>
    public void Finish()
    {
        if (_described is not null)
        {
            _described.AdditionalPropertiesAllowed = !_forbidExtra;
            return;
        }

        if (!_forbidExtra || _element.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (JsonProperty property in _element.EnumerateObject())
        {
            if (!_read.Contains(property.Name))
            {
                _errors.Add(new ValidationError([.. _path, property.Name], "extra fields not permitted", "value_error.extra"));
            }
        }
    }

    public void Error(string key, string msg, string type)
    {
        // A describing reader reads no values, so the checks on them have nothing to report.
        if (_described is null)
        {
            _errors.Add(new ValidationError([.. _path, key], msg, type));
        }
    }

    private void Note(string key, OpenApiSchema schema, bool required, bool nullable)
    {
        if (nullable && !required && schema.Type is { } type)
        {
            schema.Type = type | JsonSchemaType.Null;
        }

        _described!.Properties![key] = schema;
        if (required)
        {
            _described.Required!.Add(key);
        }
    }

    private static OpenApiSchema StateTypeSchema() => new()
    {
        Type = JsonSchemaType.String,
        Enum = StateTypes.All.Select(t => (JsonNode)JsonValue.Create(t.ToWire())).ToList(),
    };

    private bool TryGet(string key, out JsonElement element)
    {
        element = default;
        return _element.ValueKind == JsonValueKind.Object && _element.TryGetProperty(key, out element);
    }

    private T? Read<T>(string key, bool required, bool nullable, Func<JsonElement, T?> parse, string msg, string type, Func<OpenApiSchema> schema)
    {
        _read.Add(key);
        if (_described is not null)
        {
            Note(key, schema(), required, nullable);
            return default;
        }

        if (!TryGet(key, out JsonElement element))
        {
            if (required)
            {
                Error(key, "field required", "value_error.missing");
            }

            return default;
        }

        if (element.ValueKind == JsonValueKind.Null)
        {
            if (!nullable || required)
            {
                Error(key, "none is not an allowed value", "type_error.none.not_allowed");
            }

            return default;
        }

        T? value = parse(element);
        if (value is null)
        {
            Error(key, msg, type);
        }

        return value;
    }

    private List<T>? List<T>(string key, bool required, bool nullable, Func<JsonElement, object?> parseItem, string msg, string type, OpenApiSchema item)
    {
        return Read(key, required, nullable, element =>
        {
            if (element.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            if (element.GetArrayLength() > MaxListItems)
            {
                _errors.Add(new ValidationError([.. _path, key], $"ensure this value has at most {MaxListItems} items", "value_error.list.max_items"));
                return [];
            }

            var items = new List<T>();
            int index = 0;
            foreach (JsonElement item in element.EnumerateArray())
            {
                if (parseItem(item) is T value)
                {
                    items.Add(value);
                }
                else
                {
                    _errors.Add(new ValidationError([.. _path, key, index], msg, type));
                }

                index++;
            }

            return items;
        }, "value is not a valid list", "type_error.list", () => new OpenApiSchema { Type = JsonSchemaType.Array, Items = item, MaxItems = MaxListItems });
    }

    private static int? ParseInt(JsonElement e)
    {
        // pydantic coerces whole-valued and fractional numbers (truncating) and numeric strings.
        if (e.ValueKind == JsonValueKind.Number)
        {
            if (e.TryGetInt32(out int i))
            {
                return i;
            }

            double d = e.GetDouble();
            return d is >= int.MinValue and <= int.MaxValue ? (int)Math.Truncate(d) : null;
        }

        return e.ValueKind == JsonValueKind.String && int.TryParse(e.GetString(), out int s) ? s : null;
    }
}
