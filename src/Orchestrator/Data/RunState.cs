using Orchestrator.Infrastructure;
using Orchestrator.Orchestration;

namespace Orchestrator.Data;

/// <summary>A stored state: one row per validated state of a run, never updated.</summary>
public abstract class RunState
{
    public Guid Id { get; set; }
    public DateTime Created { get; set; }
    public DateTime Updated { get; set; }
    public StateType Type { get; set; }
    public string Name { get; set; } = "";
    public DateTime Timestamp { get; set; }
    public string? Message { get; set; }
    public RawJson? Data { get; set; }
    public StateDetails StateDetails { get; set; } = new();

    public State ToState() => new()
    {
        Id = Id,
        Type = Type,
        Name = Name,
        Timestamp = Timestamp,
        Message = Message,
        Data = Data,
        StateDetails = StateDetails,
    };

    protected void CopyFrom(State state, DateTime now)
    {
        Id = state.Id;
        Created = now;
        Updated = now;
        Type = state.Type;
        Name = state.Name;
        Timestamp = state.Timestamp;
        Message = state.Message;
        Data = state.Data;
        StateDetails = state.StateDetails;
    }
}

public sealed class FlowRunState : RunState
{
    public Guid FlowRunId { get; set; }

    public static FlowRunState From(State state, Guid flowRunId, DateTime now)
    {
        var row = new FlowRunState { FlowRunId = flowRunId };
        row.CopyFrom(state, now);
        return row;
    }
}

public sealed class TaskRunState : RunState
{
    public Guid TaskRunId { get; set; }

    public static TaskRunState From(State state, Guid taskRunId, DateTime now)
    {
        var row = new TaskRunState { TaskRunId = taskRunId };
        row.CopyFrom(state, now);
        return row;
    }
}

/// <summary>
/// A cached COMPLETED task state, found by key. Deliberately no foreign key to the state: Prefect's rows
/// outlive deleted states, and CacheRetrieval's behaviour depends on that.
/// </summary>
public sealed class TaskRunStateCache
{
    public Guid Id { get; set; }
    public DateTime Created { get; set; }
    public DateTime Updated { get; set; }
    public string CacheKey { get; set; } = "";
    public DateTime? CacheExpiration { get; set; }
    public Guid TaskRunStateId { get; set; }
}
