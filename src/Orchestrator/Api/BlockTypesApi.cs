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
        group.MapPost("/", CreateBlockType).WithSummary("Register a block type.");
        group.MapGet("/{id}", ReadBlockType).WithSummary("Read a block type by id.");
        group.MapGet("/slug/{slug}", ReadBlockTypeBySlug).WithSummary("Read a block type by slug.");
        group.MapGet("/slug/{slug}/block_documents", BlockDocumentsApi.ReadDocumentsOfType).WithSummary("List the documents of a block type.");
        group.MapGet("/slug/{slug}/block_documents/name/{name}", BlockDocumentsApi.ReadDocumentByTypeAndName).WithSummary("Read a block document by its type's slug and its name.");
        group.MapPatch("/{id}", UpdateBlockType).WithSummary("Update a block type's descriptive fields.");
        group.MapDelete("/{id}", DeleteBlockType).WithSummary("Delete a block type.");
        group.MapPost("/install_system_block_types", InstallSystemBlockTypes).WithSummary("Register (again) the block types the server ships.");
        routes.MapGet("/api/block_capabilities/", ListBlockCapabilities).WithTags("Block capabilities").WithSummary("Every capability some stored block schema has.");
        group.MapPost("/filter", FilterBlockTypes).WithSummary("List block types matching the filters.");
        return group;
    }

    /// <summary>Registers a block type; its name and its slug are each unique (409 when taken).</summary>
    public static async Task<Results<Created<BlockTypeResponse>, Conflict<Detail>, ForbiddenDetail>> CreateBlockType(
        BlockTypeCreate body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
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
        Guid id, BlockTypeUpdate body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
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

    /// <summary>Creates or refreshes the built-in, protected block types and their schemas; idempotent.</summary>
    public static async Task<Ok<object?>> InstallSystemBlockTypes(OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        await BuiltinBlocks.RegisterAsync(db, time, ct);
        return TypedResults.Ok<object?>(null);
    }

    public static async Task<Ok<List<string>>> ListBlockCapabilities(OrchestratorDbContext db, CancellationToken ct)
    {
        var capabilities = await db.BlockSchemas.AsNoTracking().Select(s => s.Capabilities).ToListAsync(ct);
        return TypedResults.Ok(capabilities.SelectMany(c => c).Distinct().Order(StringComparer.Ordinal).ToList());
    }

    public static async Task<Results<Ok<List<BlockTypeResponse>>, UnprocessableEntity<Detail>>> FilterBlockTypes(
        BlockTypeFilterRequest body, OrchestratorDbContext db, CancellationToken ct)
    {
        if (body.Paging.LimitProblem is { } problem)
        {
            return ErrorBodies.Unprocessable(problem);
        }

        var types = db.BlockTypes.AsNoTracking();
        if (body.BlockTypes is not null)
        {
            types = types.Where(body.BlockTypes);
        }

        var page = await body.Paging.Apply(types.OrderBy(t => t.Name)).ToListAsync(ct);
        return TypedResults.Ok(page.Select(t => t.ToResponse()).ToList());
    }
}
