using Orchestrator.Infrastructure;

namespace Orchestrator.Data;

/// <summary>A named set of UI filters, stored as the client sent them.</summary>
public sealed class SavedSearch
{
    public Guid Id { get; set; }
    public DateTime Created { get; set; }
    public DateTime Updated { get; set; }
    public string Name { get; set; } = "";
    public RawJson Filters { get; set; } = RawJson.EmptyArray;
}
