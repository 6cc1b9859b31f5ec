using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

public static class BlockTypesApi
{
    public static RouteGroupBuilder MapBlockTypesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/block_types").WithTags("Block types");
        group.MapPost("/", CreateBlockType).AcceptsJson<BlockTypeCreate>();
        group.MapGet("/{id}", ReadBlockType);
        group.MapGet("/slug/{slug}", ReadBlockTypeBySlug);
        group.MapGet("/slug/{slug}/block_documents", BlockDocumentsApi.ReadDocumentsOfType);
        group.MapGet("/slug/{slug}/block_documents/name/{name}", BlockDocumentsApi.ReadDocumentByTypeAndName);
        group.MapPatch("/{id}", UpdateBlockType).AcceptsJson<BlockTypeUpdate>();
        group.MapDelete("/{id}", DeleteBlockType);
        group.MapPost("/filter", FilterBlockTypes);
        return group;
    }

    /// <summary>Registers a block type; its name and its slug are each unique (409 when taken).</summary>
    public static async Task<Results<Created<BlockTypeResponse>, Conflict<Detail>, ForbiddenDetail>> CreateBlockType(
        HttpRequest request, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var body = await RequestBody.ReadAsync(request, BlockTypeCreate.Read, forbidExtra: true);
        if (body.Name.StartsWith("prefect", StringComparison.OrdinalIgnoreCase))
        {
            return ErrorBodies.Forbidden("Block type names beginning with 'Prefect' are reserved.");
        }

        DateTime now = time.UtcNow();
        var type = new BlockType
        {
            Id = Ids.New(),
            Created = now,
            Updated = now,
            Name = body.Name,
            Slug = body.Slug,
            LogoUrl = body.LogoUrl,
            DocumentationUrl = body.DocumentationUrl,
            Description = body.Description,
            CodeExample = body.CodeExample,
        };
        if (!await db.TryInsertAsync(type, ct))
        {
            return ErrorBodies.Conflict($"Block type with name \"{body.Name}\" already exists");
        }

        return TypedResults.Created((string?)null, type.ToResponse());
    }

    public static async Task<Results<Ok<BlockTypeResponse>, NotFound<Detail>>> ReadBlockType(Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        var type = await db.BlockTypes.AsNoTracking().FirstOrDefaultAsync(t => t.Id == id, ct);
        return type is null ? ErrorBodies.NotFound("Block type not found") : TypedResults.Ok(type.ToResponse());
    }

    public static async Task<Results<Ok<BlockTypeResponse>, NotFound<Detail>>> ReadBlockTypeBySlug(string slug, OrchestratorDbContext db, CancellationToken ct)
    {
        var type = await db.BlockTypes.AsNoTracking().FirstOrDefaultAsync(t => t.Slug == slug, ct);
        return type is null ? ErrorBodies.NotFound("Block type not found") : TypedResults.Ok(type.ToResponse());
    }

    /// <summary>
    /// Changes the descriptive fields sent. Protected (built-in) types may be updated too: the Prefect
    /// client refreshes the built-in type's description and logo this way before every flow run.
    /// </summary>
    public static async Task<Results<NoContent, NotFound<Detail>>> UpdateBlockType(
        Guid id, HttpRequest request, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var body = await RequestBody.ReadAsync(request, BlockTypeUpdate.Read, forbidExtra: true);
        var type = await db.BlockTypes.FirstOrDefaultAsync(t => t.Id == id, ct);
        if (type is null)
        {
            return ErrorBodies.NotFound("Block type not found");
        }

        body.ApplyTo(type);
        type.Updated = time.UtcNow();
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    /// <summary>Deletes a type with its schemas and documents; built-in types cannot be deleted (403).</summary>
    public static async Task<Results<NoContent, NotFound<Detail>, ForbiddenDetail>> DeleteBlockType(
        Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        var type = await db.BlockTypes.AsNoTracking().FirstOrDefaultAsync(t => t.Id == id, ct);
        if (type is null)
        {
            return ErrorBodies.NotFound("Block type not found");
        }

        if (type.IsProtected)
        {
            return ErrorBodies.Forbidden("protected block types cannot be deleted.");
        }

        await db.BlockTypes.Where(t => t.Id == id).ExecuteDeleteAsync(ct);
        return TypedResults.NoContent();
    }

    public static async Task<IResult> FilterBlockTypes(HttpRequest request, OrchestratorDbContext db, CancellationToken ct)
    {
        var (filter, paging) = await RequestBody.ReadAsync(request, r => (
            r.Nested("block_types", FilterSet.BlockTypeFilter, forbidExtra: true),
            Paging.Read(r)), forbidExtra: false);
        if (paging.Refusal() is { } refusal)
        {
            return refusal;
        }

        var types = db.BlockTypes.AsNoTracking();
        if (filter is not null)
        {
            types = types.Where(filter);
        }

        var page = await paging.Apply(types.OrderBy(t => t.Name)).ToListAsync(ct);
        return TypedResults.Ok(page.Select(t => t.ToResponse()));
    }
}
