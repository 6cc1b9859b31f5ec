using System.Text.Json.Nodes;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Schemas.Validation;

namespace Orchestrator.Schemas;

public sealed record SavedSearchResponse(Guid Id, DateTime Created, DateTime Updated, string Name, RawJson Filters);

/// <summary>
/// The body of <c>PUT /saved_searches/</c>: a name and its UI filters, each with the five keys 2.7.0
/// requires (unknown keys inside a filter are dropped, as 2.7.0 drops them).
/// </summary>
public sealed record SavedSearchCreate(string Name, RawJson Filters) : IRequestBody<SavedSearchCreate>
{
    private static readonly string[] FilterKeys = ["object", "property", "type", "operation"];

    public static SavedSearchCreate Read(JsonObjectReader r)
    {
        string name = r.Name("name", required: true) ?? "";
        var filters = new JsonArray();
        if (r.Any("filters") is { } sent)
        {
            if (JsonNode.Parse(sent.Text) is not JsonArray items)
            {
                r.Error("filters", "value is not a valid list", "type_error.list");
            }
            else
            {
                for (int i = 0; i < items.Count; i++)
                {
                    filters.Add(ReadFilter(r, items[i], i));
                }
            }
        }

        return new SavedSearchCreate(name, new RawJson(filters.ToJsonString()));
    }

    private static JsonObject ReadFilter(JsonObjectReader r, JsonNode? item, int index)
    {
        var kept = new JsonObject();
        if (item is not JsonObject filter)
        {
            r.Error("filters", $"item {index} is not a valid dict", "type_error.dict");
            return kept;
        }

        foreach (string key in FilterKeys)
        {
            if (filter[key] is JsonValue value && value.TryGetValue(out string? text))
            {
                kept[key] = text;
            }
            else
            {
                r.Error("filters", $"item {index}: {key} is required and must be a string", "value_error.missing");
            }
        }

        if (!filter.ContainsKey("value"))
        {
            r.Error("filters", $"item {index}: value is required", "value_error.missing");
        }

        kept["value"] = filter["value"]?.DeepClone();
        return kept;
    }
}

public static class SavedSearchMapping
{
    public static SavedSearchResponse ToResponse(this SavedSearch s) => new(s.Id, s.Created, s.Updated, s.Name, s.Filters);
}
