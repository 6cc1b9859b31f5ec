using System.Text.Json;
using Orchestrator.Infrastructure;

namespace Orchestrator.Schemas.Validation;

/// <summary>Reads a request's JSON body through a schema reader, answering 422 for anything malformed.</summary>
public static class RequestBody
{
    /// <param name="forbidExtra">Action models refuse unknown keys; endpoints with several embedded
    /// body parameters (filters, set_state) ignore unknown top-level keys.</param>
    public static async Task<T> ReadAsync<T>(HttpRequest request, Func<JsonObjectReader, T> read, bool forbidExtra)
    {
        JsonElement body = await ParseAsync(request);
        var errors = new List<ValidationError>();
        var reader = JsonObjectReader.ForBody(body, forbidExtra, errors);
        T value = read(reader);
        reader.Finish();
        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors, body.ValueKind == JsonValueKind.Undefined ? null : RawJson.From(body));
        }

        return value;
    }

    /// <summary>Reads a body that is a JSON list of objects; one bad item refuses the whole list.</summary>
    public static async Task<List<T>> ReadListAsync<T>(HttpRequest request, Func<JsonObjectReader, T> read, bool forbidExtra)
    {
        JsonElement body = await ParseAsync(request);
        var errors = new List<ValidationError>();
        var items = new List<T>();
        if (body.ValueKind == JsonValueKind.Array)
        {
            int index = 0;
            foreach (JsonElement element in body.EnumerateArray())
            {
                if (element.ValueKind != JsonValueKind.Object)
                {
                    errors.Add(new ValidationError(["body", index++], "value is not a valid dict", "type_error.dict"));
                    continue;
                }

                var reader = JsonObjectReader.ForListItem(element, index++, forbidExtra, errors);
                items.Add(read(reader));
                reader.Finish();
            }
        }
        else
        {
            errors.Add(body.ValueKind == JsonValueKind.Undefined
                ? new ValidationError(["body"], "field required", "value_error.missing")
                : new ValidationError(["body"], "value is not a valid list", "type_error.list"));
        }

        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors, body.ValueKind == JsonValueKind.Undefined ? null : RawJson.From(body));
        }

        return items;
    }

    private static async Task<JsonElement> ParseAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        if (buffer.Length == 0)
        {
            return default;
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(buffer.ToArray());
            return document.RootElement.Clone();
        }
        catch (JsonException error)
        {
            throw RequestValidationException.For(["body", (int)(error.BytePositionInLine ?? 0)], error.Message, "value_error.jsondecode");
        }
    }
}
