using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Schemas.Validation;
using Orchestrator.Api.Security;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

public static class BlockDocumentsApi
{
    /// <summary>What a secret field's value reads as unless <c>include_secrets</c> is asked for.</summary>
    public const string ObfuscatedSecret = "********";

    public static RouteGroupBuilder MapBlockDocumentsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/block_documents").WithTags("Block documents");
        group.MapPost("/", CreateBlockDocument).WithSummary("Create a block document.");
        group.MapGet("/{id}", ReadBlockDocument).WithSummary("Read a block document by id.");
        group.MapPatch("/{id}", UpdateBlockDocument).WithSummary("Update a block document's data or schema.");
        group.MapDelete("/{id}", DeleteBlockDocument).WithSummary("Delete a block document.");
        group.MapPost("/filter", FilterBlockDocuments).WithSummary("List block documents matching the filters.");
        return group;
    }

    /// <summary>
    /// Saves a block. Anonymous documents sent without a name are named <c>anonymous-&lt;uuid&gt;</c>;
    /// a name is unique within its block type (409 "Block already exists").
    /// </summary>
    public static async Task<Results<Created<BlockDocumentResponse>, NotFound<Detail>, Conflict<Detail>>> CreateBlockDocument(
        BlockDocumentCreate body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var schema = await db.BlockSchemas.AsNoTracking().Include(s => s.BlockType).FirstOrDefaultAsync(s => s.Id == body.BlockSchemaId, ct);
        if (schema is null)
        {
            return ErrorBodies.NotFound("Block schema not found");
        }

        if (schema.BlockTypeId != body.BlockTypeId)
        {
            return await db.BlockTypes.AnyAsync(t => t.Id == body.BlockTypeId, ct)
                ? ErrorBodies.Conflict($"Block schema {schema.Id} does not belong to block type {body.BlockTypeId}.")
                : ErrorBodies.NotFound("Block type not found");
        }

        string name = body.Name ?? $"anonymous-{Guid.NewGuid()}";
        DateTime now = time.UtcNow();
        var document = new BlockDocument
        {
            Id = Ids.New(),
            Created = now,
            Updated = now,
            Name = name,
            Data = body.Data,
            BlockSchemaId = schema.Id,
            BlockTypeId = schema.BlockTypeId,
            IsAnonymous = body.IsAnonymous,
        };
        if (!await db.TryInsertAsync(document, ct))
        {
            return ErrorBodies.Conflict("Block already exists");
        }

        document.BlockSchema = schema;
        document.BlockType = schema.BlockType;
        return TypedResults.Created((string?)null, Show(document, includeSecrets: false));
    }

    public static async Task<Results<Ok<BlockDocumentResponse>, NotFound<Detail>, ForbiddenDetail>> ReadBlockDocument(
        HttpContext http, Guid id, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "include_secrets")] bool? includeSecrets, OrchestratorDbContext db, CancellationToken ct)
    {
        if (!MayReadSecrets(http, includeSecrets))
        {
            return SecretsForbidden();
        }

        var document = await WithSchemaAndType(db).FirstOrDefaultAsync(d => d.Id == id, ct);
        return document is null ? ErrorBodies.NotFound("Block document not found") : TypedResults.Ok(Show(document, includeSecrets ?? false));
    }

    /// <summary><c>Block.load("name")</c> in the client reads a document this way.</summary>
    public static async Task<Results<Ok<BlockDocumentResponse>, NotFound<Detail>, ForbiddenDetail>> ReadDocumentByTypeAndName(
        HttpContext http, string slug, string name, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "include_secrets")] bool? includeSecrets, OrchestratorDbContext db, CancellationToken ct)
    {
        if (!MayReadSecrets(http, includeSecrets))
        {
            return SecretsForbidden();
        }

        var document = await WithSchemaAndType(db).FirstOrDefaultAsync(d => d.BlockType!.Slug == slug && d.Name == name, ct);
        return document is null ? ErrorBodies.NotFound("Block document not found") : TypedResults.Ok(Show(document, includeSecrets ?? false));
    }

    /// <summary>The named (not anonymous) documents of a block type, by name.</summary>
    public static async Task<Results<Ok<IEnumerable<BlockDocumentResponse>>, NotFound<Detail>, ForbiddenDetail>> ReadDocumentsOfType(
        HttpContext http, string slug, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "include_secrets")] bool? includeSecrets, OrchestratorDbContext db, CancellationToken ct)
    {
        if (!MayReadSecrets(http, includeSecrets))
        {
            return SecretsForbidden();
        }

        if (!await db.BlockTypes.AnyAsync(t => t.Slug == slug, ct))
        {
            return ErrorBodies.NotFound("Block type not found");
        }

        var documents = await WithSchemaAndType(db)
            .Where(d => d.BlockType!.Slug == slug && !d.IsAnonymous)
            .OrderBy(d => d.Name)
            .ToListAsync(ct);
        return TypedResults.Ok(documents.Select(d => Show(d, includeSecrets ?? false)));
    }

    /// <summary>
    /// Replaces the document's data, or with <c>merge_existing_data</c> (the default) overlays the keys
    /// sent on the stored ones. A secret sent back obfuscated keeps its stored value.
    /// </summary>
    public static async Task<Results<NoContent, NotFound<Detail>>> UpdateBlockDocument(
        Guid id, BlockDocumentUpdate body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var document = await db.BlockDocuments.FirstOrDefaultAsync(d => d.Id == id, ct);
        if (document is null)
        {
            return ErrorBodies.NotFound("Block document not found");
        }

        if (body.BlockSchemaId is { } schemaId)
        {
            if (!await db.BlockSchemas.AnyAsync(s => s.Id == schemaId && s.BlockTypeId == document.BlockTypeId, ct))
            {
                return ErrorBodies.NotFound("Block schema not found");
            }

            document.BlockSchemaId = schemaId;
        }

        var stored = JsonNode.Parse(document.Data.Text)!.AsObject();
        var sent = JsonNode.Parse(body.Data.Text)!.AsObject();
        var updated = body.MergeExistingData ? stored.DeepClone().AsObject() : [];
        foreach (var (key, value) in sent)
        {
            bool keepSecret = value is JsonValue v && v.TryGetValue(out string? s) && s == ObfuscatedSecret && stored.ContainsKey(key);
            updated[key] = keepSecret ? stored[key]?.DeepClone() : value?.DeepClone();
        }

        document.Data = new RawJson(updated.ToJsonString());
        document.Updated = time.UtcNow();
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    public static async Task<Results<NoContent, NotFound<Detail>>> DeleteBlockDocument(Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        int deleted = await db.BlockDocuments.Where(d => d.Id == id).ExecuteDeleteAsync(ct);
        return deleted > 0 ? TypedResults.NoContent() : ErrorBodies.NotFound("Block document not found");
    }

    /// <summary>Named documents only, unless the filter asks about <c>is_anonymous</c> itself.</summary>
    public static async Task<Results<Ok<List<BlockDocumentResponse>>, UnprocessableEntity<Detail>, ForbiddenDetail>> FilterBlockDocuments(
        HttpContext http, BlockDocumentFilterRequest body, OrchestratorDbContext db, CancellationToken ct)
    {
        if (!MayReadSecrets(http, body.IncludeSecrets))
        {
            return SecretsForbidden();
        }

        if (body.Paging.LimitProblem is { } problem)
        {
            return ErrorBodies.Unprocessable(problem);
        }

        var documents = WithSchemaAndType(db);
        if (body.BlockDocuments is { } filter)
        {
            documents = documents.Where(filter.Where);
        }

        if (body.BlockDocuments is not { AsksAnonymous: true })
        {
            documents = documents.Where(d => !d.IsAnonymous);
        }

        if (body.BlockTypes is { } types)
        {
            var matchingTypes = db.BlockTypes.Where(types);
            documents = documents.Where(d => matchingTypes.Any(t => t.Id == d.BlockTypeId));
        }

        var page = await body.Paging.Apply(documents.OrderBy(d => d.Name).ThenBy(d => d.Id)).ToListAsync(ct);
        return TypedResults.Ok(page.Select(d => Show(d, body.IncludeSecrets)).ToList());
    }

    private static IQueryable<BlockDocument> WithSchemaAndType(OrchestratorDbContext db) =>
        db.BlockDocuments.AsNoTracking().Include(d => d.BlockSchema!).ThenInclude(s => s.BlockType).Include(d => d.BlockType);

    /// <summary>Secret values are for keys that run flows (write scope), not for read-only ones.</summary>
    private static bool MayReadSecrets(HttpContext http, bool? includeSecrets) =>
        includeSecrets != true || ScopeAuthorization.Allows(http, ApiScope.Write);

    private static ForbiddenDetail SecretsForbidden() =>
        ErrorBodies.Forbidden("include_secrets=true needs an API key with the write scope.");

    private static BlockDocumentResponse Show(BlockDocument document, bool includeSecrets) =>
        document.ToResponse(includeSecrets ? document.Data : Obfuscate(document.Data, document.BlockSchema!.Fields));

    /// <summary>
    /// Hides the values at the schema's <c>secret_fields</c> paths (dotted, <c>*</c> for every key of an
    /// object) so secrets leave the server only when asked for.
    /// </summary>
    internal static RawJson Obfuscate(RawJson data, RawJson schemaFields)
    {
        using JsonDocument fields = JsonDocument.Parse(schemaFields.Text);
        if (!fields.RootElement.TryGetProperty("secret_fields", out JsonElement secrets)
            || secrets.ValueKind != JsonValueKind.Array || secrets.GetArrayLength() == 0)
        {
            return data;
        }

        var root = JsonNode.Parse(data.Text);
        foreach (JsonElement path in secrets.EnumerateArray().Where(p => p.ValueKind == JsonValueKind.String))
        {
            Hide(root, path.GetString()!.Split('.'));
        }

        return new RawJson(root?.ToJsonString() ?? "null");
    }

    private static void Hide(JsonNode? node, ReadOnlySpan<string> path)
    {
        if (node is not JsonObject obj || path.IsEmpty)
        {
            return;
        }

        string[] keys = path[0] == "*" ? [.. obj.Select(p => p.Key)] : [path[0]];
        foreach (string key in keys.Where(obj.ContainsKey))
        {
            if (path.Length == 1)
            {
                obj[key] = ObfuscatedSecret;
            }
            else
            {
                Hide(obj[key], path[1..]);
            }
        }
    }
}
