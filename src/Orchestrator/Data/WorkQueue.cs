using Orchestrator.Infrastructure;

namespace Orchestrator.Data;

/// <summary>
/// A named bucket agents poll. Runs are not stored in it: a flow run belongs to the queue whose name it
/// carries (<see cref="FlowRun.WorkQueueName"/>), copied from its deployment when the run was created.
/// </summary>
public sealed class WorkQueue
{
    public Guid Id { get; set; }
    public DateTime Created { get; set; }
    public DateTime Updated { get; set; }
    public string Name { get; set; } = "";
    public string Description { get; set; } = "";
    public bool IsPaused { get; set; }

    /// <summary>How many of the queue's runs may be PENDING or RUNNING at once; null is no limit.</summary>
    public int? ConcurrencyLimit { get; set; }

    /// <summary>The deprecated tag/deployment filter; a queue with one matches runs by it instead of by name.</summary>
    public RawJson? Filter { get; set; }

    public DateTime? LastPolled { get; set; }
}
