using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

public static class BlockSchemasApi
{
    public static RouteGroupBuilder MapBlockSchemasApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/block_schemas").WithTags("Block schemas");
        group.MapPost("/", CreateBlockSchema).WithSummary("Register a block schema.");
        group.MapGet("/{id}", ReadBlockSchema).WithSummary("Read a block schema by id.");
        group.MapGet("/checksum/{checksum}", ReadBlockSchemaByChecksum).WithSummary("Read a block schema by its checksum.");
        group.MapDelete("/{id}", DeleteBlockSchema).WithSummary("Delete a block schema.");
        group.MapPost("/filter", FilterBlockSchemas).WithSummary("List block schemas matching the filters.");
        return group;
    }

    /// <summary>
    /// Stores a schema under the checksum of its fields, computed here as the client computes it; the
    /// same fields and version twice is a conflict (409).
    /// </summary>
    public static async Task<Results<Created<BlockSchemaResponse>, NotFound<Detail>, Conflict<Detail>>> CreateBlockSchema(
        BlockSchemaCreate body, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var type = await db.BlockTypes.AsNoTracking().FirstOrDefaultAsync(t => t.Id == body.BlockTypeId, ct);
        if (type is null)
        {
            return ErrorBodies.NotFound($"Block type {body.BlockTypeId} not found.");
        }

        string checksum = BlockSchemaChecksum.Compute(body.Fields);
        DateTime now = time.UtcNow();
        var schema = new BlockSchema
        {
            Id = Ids.New(),
            Created = now,
            Updated = now,
            Checksum = checksum,
            Fields = body.Fields,
            BlockTypeId = type.Id,
            Capabilities = body.Capabilities,
            Version = body.Version,
        };
        if (!await db.TryInsertAsync(schema, ct))
        {
            return ErrorBodies.Conflict("Identical block schema already exists.");
        }

        schema.BlockType = type;
        return TypedResults.Created((string?)null, schema.ToResponse());
    }

    public static async Task<Results<Ok<BlockSchemaResponse>, NotFound<Detail>>> ReadBlockSchema(Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        var schema = await db.BlockSchemas.AsNoTracking().Include(s => s.BlockType).FirstOrDefaultAsync(s => s.Id == id, ct);
        return schema is null ? ErrorBodies.NotFound("Block schema not found") : TypedResults.Ok(schema.ToResponse());
    }

    /// <summary>The schema with that checksum and version; without a version, the newest with that checksum.</summary>
    public static async Task<Results<Ok<BlockSchemaResponse>, NotFound<Detail>>> ReadBlockSchemaByChecksum(
        string checksum, string? version, OrchestratorDbContext db, CancellationToken ct)
    {
        var schemas = db.BlockSchemas.AsNoTracking().Include(s => s.BlockType).Where(s => s.Checksum == checksum);
        if (version is not null)
        {
            schemas = schemas.Where(s => s.Version == version);
        }

        var schema = await schemas.OrderByDescending(s => s.Created).FirstOrDefaultAsync(ct);
        return schema is null ? ErrorBodies.NotFound("Block schema not found") : TypedResults.Ok(schema.ToResponse());
    }

    /// <summary>Deletes a schema and the documents written against it; built-in types' schemas stay (403).</summary>
    public static async Task<Results<NoContent, NotFound<Detail>, ForbiddenDetail>> DeleteBlockSchema(
        Guid id, OrchestratorDbContext db, CancellationToken ct)
    {
        var schema = await db.BlockSchemas.AsNoTracking().Include(s => s.BlockType).FirstOrDefaultAsync(s => s.Id == id, ct);
        if (schema is null)
        {
            return ErrorBodies.NotFound("Block schema not found");
        }

        if (schema.BlockType!.IsProtected)
        {
            return ErrorBodies.Forbidden("Block schemas for protected block types cannot be deleted.");
        }

        await db.BlockSchemas.Where(s => s.Id == id).ExecuteDeleteAsync(ct);
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<List<BlockSchemaResponse>>, UnprocessableEntity<Detail>>> FilterBlockSchemas(
        BlockSchemaFilterRequest body, OrchestratorDbContext db, CancellationToken ct)
    {
        if (body.Paging.LimitProblem is { } problem)
        {
            return ErrorBodies.Unprocessable(problem);
        }

        var schemas = db.BlockSchemas.AsNoTracking().Include(s => s.BlockType).AsQueryable();
        if (body.BlockSchemas is not null)
        {
            schemas = schemas.Where(body.BlockSchemas);
        }

        var page = await body.Paging.Apply(schemas.OrderByDescending(s => s.Created).ThenBy(s => s.Id)).ToListAsync(ct);
        return TypedResults.Ok(page.Select(s => s.ToResponse()).ToList());
    }
}
