using Microsoft.EntityFrameworkCore;
using Orchestrator.Infrastructure;

namespace Orchestrator.Data;

/// <summary>
/// The block types the server ships, registered at start-up as the Prefect server does, so a client
/// finds its default result storage (<c>local-file-system</c>) by slug and checksum instead of
/// registering it first. Values are those of Prefect 2.7.0's built-in type.
/// </summary>
public static class BuiltinBlocks
{
    public const string LocalFileSystemSlug = "local-file-system";
    public const string BlockSchemaVersion = "2.7.0";

    private static readonly RawJson LocalFileSystemFields = new(
        """{"title": "LocalFileSystem", "description": "Store data as a file on a local file system.", "type": "object", "properties": {"basepath": {"title": "Basepath", "description": "Default local path for this block to write to.", "type": "string"}}, "block_type_slug": "local-file-system", "secret_fields": [], "block_schema_references": {}}""");

    private static readonly List<string> LocalFileSystemCapabilities = ["get-directory", "read-path", "put-directory", "write-path"];

    /// <summary>Adds what is missing; safe to run from several instances at once.</summary>
    public static async Task RegisterAsync(OrchestratorDbContext db, TimeProvider time, CancellationToken cancellationToken = default)
    {
        DateTime now = time.UtcNow();
        string checksum = BlockSchemaChecksum.Compute(LocalFileSystemFields);
        try
        {
            var type = await db.BlockTypes.FirstOrDefaultAsync(t => t.Slug == LocalFileSystemSlug, cancellationToken);
            if (type is null)
            {
                type = new BlockType
                {
                    Id = Ids.New(),
                    Created = now,
                    Updated = now,
                    Name = "Local File System",
                    Slug = LocalFileSystemSlug,
                    LogoUrl = "https://images.ctfassets.net/gm98wzqotmnx/EVKjxM7fNyi4NGUSkeTEE/95c958c5dd5a56c59ea5033e919c1a63/image1.png?h=250",
                    Description = "Store data as a file on a local file system.",
                    CodeExample = "Load stored local file system config:\n```python\nfrom prefect.filesystems import LocalFileSystem\n\nlocal_file_system_block = LocalFileSystem.load(\"BLOCK_NAME\")\n```",
                    IsProtected = true,
                };
                db.BlockTypes.Add(type);
            }

            if (!await db.BlockSchemas.AnyAsync(s => s.Checksum == checksum && s.Version == BlockSchemaVersion, cancellationToken))
            {
                db.BlockSchemas.Add(new BlockSchema
                {
                    Id = Ids.New(), Created = now, Updated = now, Checksum = checksum, Fields = LocalFileSystemFields,
                    BlockTypeId = type.Id, Capabilities = [.. LocalFileSystemCapabilities], Version = BlockSchemaVersion,
                });
            }

            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException error) when (error.IsUniqueViolation())
        {
            // Another instance registered them at the same moment.
        }
        finally
        {
            db.ChangeTracker.Clear();
        }
    }
}
