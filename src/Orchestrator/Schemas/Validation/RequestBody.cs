using System.Buffers;
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
        try
        {
            await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        }
        catch (IOException error) when (!request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            // Kestrel reports a malformed body (a chunk size that overflows) as an I/O error.
            throw new BadHttpRequestException($"The request body could not be read: {error.Message}", StatusCodes.Status400BadRequest, error);
        }
        if (buffer.Length == 0)
        {
            return default;
        }

        // A page of another site can send text/plain or a form without a CORS preflight; only a JSON
        // body is read as one.
        if (!IsJson(request.ContentType))
        {
            throw new UnsupportedContentTypeException(request.ContentType);
        }

        byte[] bytes = buffer.ToArray();
        JsonElement root;
        try
        {
            using JsonDocument document = JsonDocument.Parse(bytes);
            root = document.RootElement.Clone();
        }
        catch (JsonException error)
        {
            throw RequestValidationException.For(["body", (int)(error.BytePositionInLine ?? 0)], error.Message, "value_error.jsondecode");
        }

        CheckText(bytes);
        return root;
    }

    public static bool IsJson(string? contentType) =>
        contentType is not null
        && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media)
        && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || media.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Refuses strings no database can store: bytes that are not UTF-8, an escaped lone surrogate
    /// (<c>\ud800</c>), which is valid JSON but not text, and a NUL character, which PostgreSQL rejects in
    /// text and jsonb. The last two can only be written as escapes (JSON forbids raw control
    /// characters), so only escaped strings are decoded.
    /// </summary>
    private static void CheckText(byte[] json)
    {
        var reader = new Utf8JsonReader(json);
        while (reader.Read())
        {
            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName))
            {
                continue;
            }

            if (!reader.ValueIsEscaped)
            {
                // The parser checks the structure, not that the bytes inside a string are UTF-8.
                if (!System.Text.Unicode.Utf8.IsValid(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan))
                {
                    throw RequestValidationException.For(["body", (int)reader.TokenStartIndex], "string is not valid UTF-8", "value_error.unicode");
                }

                continue;
            }

            string? text;
            try
            {
                text = reader.GetString();
            }
            catch (InvalidOperationException)
            {
                throw RequestValidationException.For(["body", (int)reader.TokenStartIndex], "string is not valid unicode text (a lone surrogate escape)", "value_error.unicode");
            }

            if (text is not null && text.Contains('\0', StringComparison.Ordinal))
            {
                throw RequestValidationException.For(["body", (int)reader.TokenStartIndex], "string contains a NUL character (\\u0000), which cannot be stored", "value_error.unicode");
            }
        }
    }
}
