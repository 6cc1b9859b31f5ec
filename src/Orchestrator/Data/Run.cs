using Orchestrator.Infrastructure;
using Orchestrator.Orchestration;

namespace Orchestrator.Data;

/// <summary>
/// The fields flow runs and task runs share: their current state and the bookkeeping the global
/// transforms keep. Not an entity of its own; each kind has its table.
/// </summary>
public abstract class Run
{
    public Guid Id { get; set; }
    public DateTime Created { get; set; }
    public DateTime Updated { get; set; }
    public string Name { get; set; } = "";
    public Guid? StateId { get; set; }
    public StateType? StateType { get; set; }
    public string? StateName { get; set; }
    public DateTime? StateTimestamp { get; set; }
    public int RunCount { get; set; }
    public DateTime? ExpectedStartTime { get; set; }
    public DateTime? NextScheduledStartTime { get; set; }
    public DateTime? StartTime { get; set; }
    public DateTime? EndTime { get; set; }
    public TimeSpan TotalRunTime { get; set; }
    public EmpiricalPolicy EmpiricalPolicy { get; set; } = new();
    public List<string> Tags { get; set; } = [];
}

/// <summary>Retry settings of a run (<c>empirical_policy</c>); the legacy fields are kept for old clients.</summary>
public sealed record EmpiricalPolicy
{
    public int MaxRetries { get; init; }
    public double RetryDelaySeconds { get; init; }
    public int? Retries { get; init; }
    public int? RetryDelay { get; init; }
}

public sealed class FlowRun : Run
{
    public Guid FlowId { get; set; }
    public Guid? DeploymentId { get; set; }
    public string? WorkQueueName { get; set; }
    public string? FlowVersion { get; set; }
    public RawJson Parameters { get; set; } = RawJson.EmptyObject;
    public string? IdempotencyKey { get; set; }
    public RawJson Context { get; set; } = RawJson.EmptyObject;
    public Guid? ParentTaskRunId { get; set; }
    public bool AutoScheduled { get; set; }
    public Guid? InfrastructureDocumentId { get; set; }
    public string? InfrastructurePid { get; set; }
    public FlowRunState? State { get; set; }
}

public sealed class TaskRun : Run
{
    public Guid FlowRunId { get; set; }
    public string TaskKey { get; set; } = "";
    public string DynamicKey { get; set; } = "";
    public string? CacheKey { get; set; }
    public DateTime? CacheExpiration { get; set; }
    public string? TaskVersion { get; set; }
    public RawJson TaskInputs { get; set; } = RawJson.EmptyObject;
    public int FlowRunRunCount { get; set; }
    public TaskRunState? State { get; set; }
}
