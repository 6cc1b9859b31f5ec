using Orchestrator.Infrastructure;

namespace Orchestrator.Data;

public sealed class Flow
{
    public Guid Id { get; set; }
    public DateTime Created { get; set; }
    public DateTime Updated { get; set; }
    public string Name { get; set; } = "";
    public List<string> Tags { get; set; } = [];
}

public sealed class ConcurrencyLimit
{
    public Guid Id { get; set; }
    public DateTime Created { get; set; }
    public DateTime Updated { get; set; }
    public string Tag { get; set; } = "";
    public int Limit { get; set; }

    /// <summary>Ids of the task runs holding a slot, used as a set.</summary>
    public List<Guid> ActiveSlots { get; set; } = [];

    /// <summary>
    /// How long slots were held, averaged over recent releases (each weighs a fifth against the mean so
    /// far); null until one is released. Not part of the API's limit object.
    /// </summary>
    public double? MeanSlotSeconds { get; set; }
}

public sealed class Deployment
{
    public Guid Id { get; set; }
    public DateTime Created { get; set; }
    public DateTime Updated { get; set; }
    public string Name { get; set; } = "";
    public Guid FlowId { get; set; }
    public string? Version { get; set; }
    public string? Description { get; set; }
    public RawJson? Schedule { get; set; }
    public bool IsScheduleActive { get; set; } = true;
    public RawJson InfraOverrides { get; set; } = RawJson.EmptyObject;
    public RawJson Parameters { get; set; } = RawJson.EmptyObject;
    public List<string> Tags { get; set; } = [];
    public string? WorkQueueName { get; set; }
    public RawJson? ParameterOpenapiSchema { get; set; }
    public string? Path { get; set; }
    public string? Entrypoint { get; set; }
    public string? ManifestPath { get; set; }
    public Guid? StorageDocumentId { get; set; }
    public Guid? InfrastructureDocumentId { get; set; }
    public RawJson? CreatedBy { get; set; }
    public RawJson? UpdatedBy { get; set; }
}
