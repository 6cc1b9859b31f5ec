using Microsoft.EntityFrameworkCore;
using Orchestrator.Infrastructure;

namespace Orchestrator.Data;

/// <summary>One block type the server ships, with the schema its Prefect 2.7.0 class has.</summary>
public sealed record BuiltinBlock(string Name, string Slug, string? LogoUrl, string Description, string? CodeExample, RawJson Fields, IReadOnlyList<string> Capabilities);

/// <summary>
/// The block types the server ships, registered at start-up (and by <c>install_system_block_types</c>)
/// as the Prefect server does, so a client finds its default result storage (<c>local-file-system</c>)
/// and the agent its <c>process</c> infrastructure by slug and checksum instead of registering them. The
/// schemas of <c>local-file-system</c> and <c>process</c> are Prefect 2.7.0's (their checksums are what
/// the 2.7 client computes); <c>json</c>, <c>date-time</c> and <c>secret</c> are our own descriptions of
/// the same one-value blocks. All are protected.
/// </summary>
public static class BuiltinBlocks
{
    public const string LocalFileSystemSlug = "local-file-system";
    public const string BlockSchemaVersion = "2.7.0";

    public static readonly IReadOnlyList<BuiltinBlock> All =
    [
        new("Local File System", LocalFileSystemSlug,
            "https://images.ctfassets.net/gm98wzqotmnx/EVKjxM7fNyi4NGUSkeTEE/95c958c5dd5a56c59ea5033e919c1a63/image1.png?h=250",
            "Store data as a file on a local file system.",
            "Load stored local file system config:\n```python\nfrom prefect.filesystems import LocalFileSystem\n\nlocal_file_system_block = LocalFileSystem.load(\"BLOCK_NAME\")\n```",
            new("""{"title": "LocalFileSystem", "description": "Store data as a file on a local file system.", "type": "object", "properties": {"basepath": {"title": "Basepath", "description": "Default local path for this block to write to.", "type": "string"}}, "block_type_slug": "local-file-system", "secret_fields": [], "block_schema_references": {}}"""),
            ["get-directory", "read-path", "put-directory", "write-path"]),
        new("Process", "process",
            "https://images.ctfassets.net/gm98wzqotmnx/39WQhVu4JK40rZWltGqhuC/d15be6189a0cb95949a6b43df00dcb9b/image5.png?h=250",
            "Run a command in a new process.\n\nCurrent environment variables and Prefect settings will be included in the created\nprocess. Configured environment variables will override any current environment\nvariables.",
            "```python\nfrom prefect.infrastructure.process import Process\n\nprocess_block = Process.load(\"BLOCK_NAME\")\n```",
            new("""{"title": "Process", "description": "Run a command in a new process.\n\nCurrent environment variables and Prefect settings will be included in the created\nprocess. Configured environment variables will override any current environment\nvariables.", "type": "object", "properties": {"type": {"title": "Type", "description": "The type of infrastructure.", "default": "process", "enum": ["process"], "type": "string"}, "env": {"title": "Environment", "description": "Environment variables to set in the configured infrastructure.", "type": "object", "additionalProperties": {"type": "string"}}, "labels": {"title": "Labels", "description": "Labels applied to the infrastructure for metadata purposes.", "type": "object", "additionalProperties": {"type": "string"}}, "name": {"title": "Name", "description": "Name applied to the infrastructure for identification.", "type": "string"}, "command": {"title": "Command", "description": "The command to run in the infrastructure.", "type": "array", "items": {"type": "string"}}, "stream_output": {"title": "Stream Output", "description": "If set, output will be streamed from the process to local standard output.", "default": true, "type": "boolean"}, "working_dir": {"title": "Working Dir", "description": "If set, the process will open within the specified path as the working directory. Otherwise, a temporary directory will be created.", "anyOf": [{"type": "string"}, {"type": "string", "format": "path"}]}}, "block_type_slug": "process", "secret_fields": [], "block_schema_references": {}}"""),
            ["run-infrastructure"]),
        new("JSON", "json", null, "A block that holds any JSON value.", null,
            new("""{"title": "JSON", "description": "A block that holds any JSON value.", "type": "object", "properties": {"value": {"title": "Value", "description": "Any value JSON can represent."}}, "required": ["value"], "block_type_slug": "json", "secret_fields": [], "block_schema_references": {}}"""),
            []),
        new("Date Time", "date-time", null, "A block that holds a date and time.", null,
            new("""{"title": "DateTime", "description": "A block that holds a date and time.", "type": "object", "properties": {"value": {"title": "Value", "description": "An ISO 8601 date and time.", "type": "string", "format": "date-time"}}, "required": ["value"], "block_type_slug": "date-time", "secret_fields": [], "block_schema_references": {}}"""),
            []),
        new("Secret", "secret", null, "A block that holds a value to be kept secret.", null,
            new("""{"title": "Secret", "description": "A block that holds a value to be kept secret.", "type": "object", "properties": {"value": {"title": "Value", "description": "The secret string.", "type": "string", "writeOnly": true, "format": "password"}}, "required": ["value"], "block_type_slug": "secret", "secret_fields": ["value"], "block_schema_references": {}}"""),
            []),
    ];

    /// <summary>Adds or refreshes each built-in type and its schema; safe to run from several instances at once.</summary>
    public static async Task RegisterAsync(OrchestratorDbContext db, TimeProvider time, CancellationToken cancellationToken = default)
    {
        foreach (var block in All)
        {
            await RegisterAsync(db, block, time.UtcNow(), cancellationToken);
        }
    }

    private static async Task RegisterAsync(OrchestratorDbContext db, BuiltinBlock block, DateTime now, CancellationToken cancellationToken)
    {
        string checksum = BlockSchemaChecksum.Compute(block.Fields);
        try
        {
            var type = await db.BlockTypes.FirstOrDefaultAsync(t => t.Slug == block.Slug, cancellationToken);
            if (type is null)
            {
                type = new BlockType { Id = Ids.New(), Created = now, Slug = block.Slug };
                db.BlockTypes.Add(type);
            }

            type.Name = block.Name;
            type.LogoUrl = block.LogoUrl;
            type.Description = block.Description;
            type.CodeExample = block.CodeExample;
            type.IsProtected = true;
            if (db.Entry(type).State != EntityState.Unchanged)
            {
                type.Updated = now;
            }

            if (!await db.BlockSchemas.AnyAsync(s => s.Checksum == checksum && s.Version == BlockSchemaVersion, cancellationToken))
            {
                db.BlockSchemas.Add(new BlockSchema
                {
                    Id = Ids.New(), Created = now, Updated = now, Checksum = checksum, Fields = block.Fields,
                    BlockTypeId = type.Id, Capabilities = [.. block.Capabilities], Version = BlockSchemaVersion,
                });
            }

            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException error) when (error.IsUniqueViolation())
        {
            // Another instance registered it at the same moment.
        }
        finally
        {
            db.ChangeTracker.Clear();
        }
    }
}
