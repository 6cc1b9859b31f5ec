using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Schemas.Validation;
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
        group.MapPost("/", CreateBlockDocument).AcceptsJson<BlockDocumentCreate>();
        group.MapGet("/{id}", ReadBlockDocument);
        group.MapPatch("/{id}", UpdateBlockDocument).AcceptsJson<BlockDocumentUpdate>();
        group.MapDelete("/{id}", DeleteBlockDocument);
        group.MapPost("/filter", FilterBlockDocuments);
        return group;
    }

    /// <summary>
    /// Saves a block. Anonymous documents sent without a name are named <c>anonymous-&lt;uuid&gt;</c>;
    /// a name is unique within its block type (409 "Block already exists").
    /// </summary>
    public static async Task<Results<Created<BlockDocumentResponse>, NotFound<Detail>, Conflict<Detail>>> CreateBlockDocument(
        HttpRequest request, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var body = await RequestBody.ReadAsync(request, BlockDocumentCreate.Read, forbidExtra: true);
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

    public static async Task<Results<Ok<BlockDocumentResponse>, NotFound<Detail>>> ReadBlockDocument(
        Guid id, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "include_secrets")] bool? includeSecrets, OrchestratorDbContext db, CancellationToken ct)
    {
        var document = await WithSchemaAndType(db).FirstOrDefaultAsync(d => d.Id == id, ct);
        return document is null ? ErrorBodies.NotFound("Block document not found") : TypedResults.Ok(Show(document, includeSecrets ?? false));
    }

    /// <summary><c>Block.load("name")</c> in the client reads a document this way.</summary>
    public static async Task<Results<Ok<BlockDocumentResponse>, NotFound<Detail>>> ReadDocumentByTypeAndName(
        string slug, string name, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "include_secrets")] bool? includeSecrets, OrchestratorDbContext db, CancellationToken ct)
    {
        var document = await WithSchemaAndType(db).FirstOrDefaultAsync(d => d.BlockType!.Slug == slug && d.Name == name, ct);
        return document is null ? ErrorBodies.NotFound("Block document not found") : TypedResults.Ok(Show(document, includeSecrets ?? false));
    }

    /// <summary>The named (not anonymous) documents of a block type, by name.</summary>
    public static async Task<Results<Ok<IEnumerable<BlockDocumentResponse>>, NotFound<Detail>>> ReadDocumentsOfType(
        string slug, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "include_secrets")] bool? includeSecrets, OrchestratorDbContext db, CancellationToken ct)
    {
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
        Guid id, HttpRequest request, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var body = await RequestBody.ReadAsync(request, BlockDocumentUpdate.Read, forbidExtra: true);
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
    public static async Task<IResult> FilterBlockDocuments(HttpRequest request, OrchestratorDbContext db, CancellationToken ct)
    {
        var (filter, types, includeSecrets, paging) = await RequestBody.ReadAsync(request, r => (
            r.Nested("block_documents", n => new DocumentFilter(FilterSet.BlockDocumentFilter(n), n.Has("is_anonymous")), forbidExtra: true),
            r.Nested("block_types", FilterSet.BlockTypeFilter, forbidExtra: true),
            r.Bool("include_secrets", nullable: false) ?? false,
            Paging.Read(r)), forbidExtra: false);
        if (paging.Refusal() is { } refusal)
        {
            return refusal;
        }

        var documents = WithSchemaAndType(db);
        if (filter is { } f)
        {
            documents = documents.Where(f.Where);
        }

        if (filter is not { AsksAnonymous: true })
        {
            documents = documents.Where(d => !d.IsAnonymous);
        }

        if (types is not null)
        {
            var matchingTypes = db.BlockTypes.Where(types);
            documents = documents.Where(d => matchingTypes.Any(t => t.Id == d.BlockTypeId));
        }

        var page = await paging.Apply(documents.OrderBy(d => d.Name).ThenBy(d => d.Id)).ToListAsync(ct);
        return TypedResults.Ok(page.Select(d => Show(d, includeSecrets)));
    }

    private sealed record DocumentFilter(System.Linq.Expressions.Expression<Func<BlockDocument, bool>> Where, bool AsksAnonymous);

    private static IQueryable<BlockDocument> WithSchemaAndType(OrchestratorDbContext db) =>
        db.BlockDocuments.AsNoTracking().Include(d => d.BlockSchema!).ThenInclude(s => s.BlockType).Include(d => d.BlockType);

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
