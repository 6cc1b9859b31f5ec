using System.Text.Json;
using Orchestrator.Infrastructure;

namespace Orchestrator.Api.Validation;

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
