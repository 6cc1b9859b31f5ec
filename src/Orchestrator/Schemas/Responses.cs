using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Orchestration;

namespace Orchestrator.Schemas;

// The JSON objects the API returns, field for field and in Prefect 2.7's order. Snake-case names come
// from the serializer's naming policy.

public sealed record FlowResponse(Guid Id, DateTime Created, DateTime Updated, string Name, IReadOnlyList<string> Tags);

public sealed record FlowRunResponse(
    Guid Id,
    DateTime Created,
    DateTime Updated,
    string Name,
    Guid FlowId,
    Guid? StateId,
    Guid? DeploymentId,
    string? WorkQueueName,
    string? FlowVersion,
    RawJson Parameters,
    string? IdempotencyKey,
    RawJson Context,
    EmpiricalPolicy EmpiricalPolicy,
    IReadOnlyList<string> Tags,
    Guid? ParentTaskRunId,
    StateType? StateType,
    string? StateName,
    int RunCount,
    DateTime? ExpectedStartTime,
    DateTime? NextScheduledStartTime,
    DateTime? StartTime,
    DateTime? EndTime,
    TimeSpan TotalRunTime,
    TimeSpan EstimatedRunTime,
    TimeSpan EstimatedStartTimeDelta,
    bool AutoScheduled,
    Guid? InfrastructureDocumentId,
    string? InfrastructurePid,
    object? CreatedBy,
    State? State);

public sealed record TaskRunResponse(
    Guid Id,
    DateTime Created,
    DateTime Updated,
    string Name,
    Guid FlowRunId,
    string TaskKey,
    string DynamicKey,
    string? CacheKey,
    DateTime? CacheExpiration,
    string? TaskVersion,
    EmpiricalPolicy EmpiricalPolicy,
    IReadOnlyList<string> Tags,
    Guid? StateId,
    RawJson TaskInputs,
    StateType? StateType,
    string? StateName,
    int RunCount,
    int FlowRunRunCount,
    DateTime? ExpectedStartTime,
    DateTime? NextScheduledStartTime,
    DateTime? StartTime,
    DateTime? EndTime,
    TimeSpan TotalRunTime,
    TimeSpan EstimatedRunTime,
    TimeSpan EstimatedStartTimeDelta,
    State? State);

public sealed record ConcurrencyLimitResponse(
    Guid Id, DateTime Created, DateTime Updated, string Tag, int ConcurrencyLimit, IReadOnlyList<Guid> ActiveSlots);

public sealed record DeploymentResponse(
    Guid Id,
    DateTime Created,
    DateTime Updated,
    string Name,
    string? Version,
    string? Description,
    Guid FlowId,
    RawJson? Schedule,
    bool IsScheduleActive,
    RawJson InfraOverrides,
    RawJson Parameters,
    IReadOnlyList<string> Tags,
    string? WorkQueueName,
    RawJson? ParameterOpenapiSchema,
    string? Path,
    string? Entrypoint,
    string? ManifestPath,
    Guid? StorageDocumentId,
    Guid? InfrastructureDocumentId,
    RawJson? CreatedBy,
    RawJson? UpdatedBy);

public sealed record TaskRunDependency(string InputType, Guid Id);

public sealed record GraphNode(
    Guid Id,
    IReadOnlyList<TaskRunDependency> UpstreamDependencies,
    State? State,
    DateTime? ExpectedStartTime,
    DateTime? StartTime,
    DateTime? EndTime,
    TimeSpan TotalRunTime,
    TimeSpan EstimatedRunTime,
    bool UntrackableResult);

public sealed record BlockTypeResponse(
    Guid Id,
    DateTime Created,
    DateTime Updated,
    string Name,
    string Slug,
    string? LogoUrl,
    string? DocumentationUrl,
    string? Description,
    string? CodeExample,
    bool IsProtected);

public sealed record BlockSchemaResponse(
    Guid Id,
    DateTime Created,
    DateTime Updated,
    string Checksum,
    RawJson Fields,
    Guid BlockTypeId,
    BlockTypeResponse? BlockType,
    IReadOnlyList<string> Capabilities,
    string Version);

public sealed record BlockDocumentResponse(
    Guid Id,
    DateTime Created,
    DateTime Updated,
    string Name,
    RawJson Data,
    Guid BlockSchemaId,
    BlockSchemaResponse? BlockSchema,
    Guid BlockTypeId,
    BlockTypeResponse? BlockType,
    RawJson BlockDocumentReferences,
    bool IsAnonymous);

public sealed record LogResponse(
    Guid Id, DateTime Created, DateTime Updated, string Name, int Level, string Message, DateTime Timestamp, Guid? FlowRunId, Guid? TaskRunId);

/// <summary>Maps entities to the wire shapes; the time-dependent estimates are computed at read time.</summary>
public static class ResponseMapping
{
    public static FlowResponse ToResponse(this Flow flow) => new(flow.Id, flow.Created, flow.Updated, flow.Name, flow.Tags);

    public static FlowRunResponse ToResponse(this FlowRun run, DateTime now) => new(
        run.Id, run.Created, run.Updated, run.Name, run.FlowId, run.StateId, run.DeploymentId, run.WorkQueueName,
        run.FlowVersion, run.Parameters, run.IdempotencyKey, run.Context, run.EmpiricalPolicy, run.Tags,
        run.ParentTaskRunId, run.StateType, run.StateName, run.RunCount, run.ExpectedStartTime,
        run.NextScheduledStartTime, run.StartTime, run.EndTime, run.TotalRunTime, EstimatedRunTime(run, now),
        EstimatedStartTimeDelta(run, now), run.AutoScheduled, run.InfrastructureDocumentId, run.InfrastructurePid,
        CreatedBy: null, run.State?.ToState());

    public static TaskRunResponse ToResponse(this TaskRun run, DateTime now) => new(
        run.Id, run.Created, run.Updated, run.Name, run.FlowRunId, run.TaskKey, run.DynamicKey, run.CacheKey,
        run.CacheExpiration, run.TaskVersion, run.EmpiricalPolicy, run.Tags, run.StateId, run.TaskInputs,
        run.StateType, run.StateName, run.RunCount, run.FlowRunRunCount, run.ExpectedStartTime,
        run.NextScheduledStartTime, run.StartTime, run.EndTime, run.TotalRunTime, EstimatedRunTime(run, now),
        EstimatedStartTimeDelta(run, now), run.State?.ToState());

    public static ConcurrencyLimitResponse ToResponse(this ConcurrencyLimit limit) =>
        new(limit.Id, limit.Created, limit.Updated, limit.Tag, limit.Limit, limit.ActiveSlots);

    public static DeploymentResponse ToResponse(this Deployment d) => new(
        d.Id, d.Created, d.Updated, d.Name, d.Version, d.Description, d.FlowId, d.Schedule, d.IsScheduleActive,
        d.InfraOverrides, d.Parameters, d.Tags, d.WorkQueueName, d.ParameterOpenapiSchema, d.Path, d.Entrypoint,
        d.ManifestPath, d.StorageDocumentId, d.InfrastructureDocumentId, d.CreatedBy, d.UpdatedBy);

    /// <summary>Run time so far: the stored total plus the current attempt while RUNNING.</summary>
    public static TimeSpan EstimatedRunTime(Run run, DateTime now) =>
        EstimatedRunTime(run.StateType, run.StateTimestamp, run.TotalRunTime, now);

    /// <inheritdoc cref="EstimatedRunTime(Run, DateTime)"/>
    public static TimeSpan EstimatedRunTime(StateType? state, DateTime? stateSince, TimeSpan totalRunTime, DateTime now) =>
        state == StateType.Running && stateSince is { } since ? totalRunTime + (now - since) : totalRunTime;

    /// <summary>How late the run started, or is so far when it has not started and should have.</summary>
    public static TimeSpan EstimatedStartTimeDelta(Run run, DateTime now) =>
        EstimatedStartTimeDelta(run.StateType, run.StartTime, run.ExpectedStartTime, now);

    /// <inheritdoc cref="EstimatedStartTimeDelta(Run, DateTime)"/>
    public static TimeSpan EstimatedStartTimeDelta(StateType? state, DateTime? startTime, DateTime? expectedStartTime, DateTime now)
    {
        if (startTime is { } start && expectedStartTime is { } expected && start > expected)
        {
            return start - expected;
        }

        if (startTime is null && expectedStartTime is { } due && due < now && !state.IsTerminal())
        {
            return now - due;
        }

        return TimeSpan.Zero;
    }

    public static BlockTypeResponse ToResponse(this BlockType t) =>
        new(t.Id, t.Created, t.Updated, t.Name, t.Slug, t.LogoUrl, t.DocumentationUrl, t.Description, t.CodeExample, t.IsProtected);

    /// <summary>Needs <see cref="BlockSchema.BlockType"/> loaded.</summary>
    public static BlockSchemaResponse ToResponse(this BlockSchema s) =>
        new(s.Id, s.Created, s.Updated, s.Checksum, s.Fields, s.BlockTypeId, s.BlockType?.ToResponse(), s.Capabilities, s.Version);

    /// <summary>Needs the schema (with its type) and the type loaded; <paramref name="data"/> is what to show.</summary>
    public static BlockDocumentResponse ToResponse(this BlockDocument d, RawJson data) => new(
        d.Id, d.Created, d.Updated, d.Name, data, d.BlockSchemaId, d.BlockSchema?.ToResponse(), d.BlockTypeId,
        d.BlockType?.ToResponse(), RawJson.EmptyObject, d.IsAnonymous);

    public static LogResponse ToResponse(this Log l) =>
        new(l.Id, l.Created, l.Updated, l.Name, l.Level, l.Message, l.Timestamp, l.FlowRunId, l.TaskRunId);
}
