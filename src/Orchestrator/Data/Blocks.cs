using Orchestrator.Infrastructure;

namespace Orchestrator.Data;

/// <summary>A kind of block (result storage, infrastructure, secrets, ...) a client registers by slug.</summary>
public sealed class BlockType
{
    public Guid Id { get; set; }
    public DateTime Created { get; set; }
    public DateTime Updated { get; set; }
    public string Name { get; set; } = "";
    public string Slug { get; set; } = "";
    public string? LogoUrl { get; set; }
    public string? DocumentationUrl { get; set; }
    public string? Description { get; set; }
    public string? CodeExample { get; set; }

    /// <summary>Built in by the server; cannot be deleted through the API.</summary>
    public bool IsProtected { get; set; }
}

/// <summary>One version of a block type's JSON schema, found by the checksum clients compute.</summary>
public sealed class BlockSchema
{
    public Guid Id { get; set; }
    public DateTime Created { get; set; }
    public DateTime Updated { get; set; }
    public string Checksum { get; set; } = "";
    public RawJson Fields { get; set; } = RawJson.EmptyObject;
    public Guid BlockTypeId { get; set; }
    public BlockType? BlockType { get; set; }
    public List<string> Capabilities { get; set; } = [];
    public string Version { get; set; } = BlockSchemaVersions.Unversioned;
}

public static class BlockSchemaVersions
{
    public const string Unversioned = "non-versioned";
}

/// <summary>A saved block: its schema's values, under a name unique within the block type.</summary>
public sealed class BlockDocument
{
    public Guid Id { get; set; }
    public DateTime Created { get; set; }
    public DateTime Updated { get; set; }
    public string Name { get; set; } = "";
    public RawJson Data { get; set; } = RawJson.EmptyObject;
    public Guid BlockSchemaId { get; set; }
    public BlockSchema? BlockSchema { get; set; }
    public Guid BlockTypeId { get; set; }
    public BlockType? BlockType { get; set; }
    public bool IsAnonymous { get; set; }
}
