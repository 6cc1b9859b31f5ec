using System.Reflection;
using Microsoft.AspNetCore.Http.Metadata;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;
using Orchestrator.Infrastructure;

namespace Orchestrator.Schemas;

// The request bodies of create and update endpoints ("actions" in Prefect). Each record documents the
// shape in the OpenAPI document and has a Read method that validates a body into it: unknown keys are
// refused, an explicit null for a field with a default is refused, and the fields Prefect 2.7.0 only
// requires "in substance" are required here (decision D4).

public sealed record FlowCreate(string Name, List<string> Tags) : IRequestBody<FlowCreate>
{
    public static FlowCreate Read(JsonObjectReader r) =>
        new(Names.Read(r, "name", required: true)!, r.StringList("tags", nullable: false) ?? []);
}

public sealed record FlowUpdate(List<string>? Tags) : IRequestBody<FlowUpdate>
{
    public static FlowUpdate Read(JsonObjectReader r) => new(r.StringList("tags", nullable: false));
}

public sealed record FlowRunCreate(
    Guid FlowId,
    string? Name,
    State? State,
    Guid? DeploymentId,
    string? FlowVersion,
    RawJson Parameters,
    RawJson Context,
    Guid? ParentTaskRunId,
    Guid? InfrastructureDocumentId,
    EmpiricalPolicy EmpiricalPolicy,
    List<string> Tags,
    string? IdempotencyKey) : IRequestBody<FlowRunCreate>
{
    public static FlowRunCreate Read(JsonObjectReader r) => new(
        r.Uuid("flow_id", required: true) ?? Guid.Empty,
        r.Name("name"),
        StateCreate.ReadNested(r, "state"),
        r.Uuid("deployment_id"),
        r.Name("flow_version"),
        r.Object("parameters", nullable: false) ?? RawJson.EmptyObject,
        r.Object("context", nullable: false) ?? RawJson.EmptyObject,
        r.Uuid("parent_task_run_id"),
        r.Uuid("infrastructure_document_id"),
        Policies.Read(r),
        r.StringList("tags", nullable: false) ?? [],
        r.Name("idempotency_key"));
}

public sealed record FlowRunUpdate(
    string? Name, string? FlowVersion, RawJson? Parameters, EmpiricalPolicy? EmpiricalPolicy, List<string>? Tags, string? InfrastructurePid) : IRequestBody<FlowRunUpdate>
{
    public static FlowRunUpdate Read(JsonObjectReader r) => new(
        r.Name("name"),
        r.Name("flow_version"),
        r.Object("parameters", nullable: false),
        r.Has("empirical_policy") ? Policies.Read(r) : null,
        r.StringList("tags", nullable: false),
        r.String("infrastructure_pid"));
}

public sealed record TaskRunCreate(
    Guid FlowRunId,
    string TaskKey,
    string DynamicKey,
    string? Name,
    State? State,
    string? CacheKey,
    DateTime? CacheExpiration,
    string? TaskVersion,
    EmpiricalPolicy EmpiricalPolicy,
    List<string> Tags,
    RawJson TaskInputs) : IRequestBody<TaskRunCreate>
{
    public static TaskRunCreate Read(JsonObjectReader r) => new(
        r.Uuid("flow_run_id", required: true) ?? Guid.Empty,
        r.Name("task_key", required: true) ?? "",
        r.Name("dynamic_key", required: true) ?? "",
        r.Name("name"),
        StateCreate.ReadNested(r, "state"),
        r.Name("cache_key"),
        r.Timestamp("cache_expiration"),
        r.Name("task_version"),
        Policies.Read(r),
        r.StringList("tags", nullable: false) ?? [],
        r.Object("task_inputs", nullable: false) ?? RawJson.EmptyObject);
}

public sealed record ConcurrencyLimitCreate(string Tag, int ConcurrencyLimit) : IRequestBody<ConcurrencyLimitCreate>
{
    public static ConcurrencyLimitCreate Read(JsonObjectReader r) =>
        new(r.Name("tag", required: true) ?? "", r.Int("concurrency_limit", required: true) ?? 0);
}

/// <summary>Prefect's later reset body: the slots to keep (<c>slot_override</c>), none when null or missing.</summary>
public sealed record ConcurrencyLimitReset(List<Guid>? SlotOverride) : IRequestBody<ConcurrencyLimitReset>
{
    public static ConcurrencyLimitReset Read(JsonObjectReader r) => new(r.UuidList("slot_override"));
}

public sealed record DeploymentCreate(
    string Name,
    Guid FlowId,
    bool IsScheduleActive,
    RawJson Parameters,
    List<string> Tags,
    string? ManifestPath,
    string? WorkQueueName,
    Guid? StorageDocumentId,
    Guid? InfrastructureDocumentId,
    ScheduleBody? Schedule,
    string? Description,
    RawJson? ParameterOpenapiSchema,
    string? Path,
    string? Version,
    string? Entrypoint,
    RawJson InfraOverrides) : IRequestBody<DeploymentCreate>
{
    public static DeploymentCreate Read(JsonObjectReader r) => new(
        Names.Read(r, "name", required: true)!,
        r.Uuid("flow_id", required: true) ?? Guid.Empty,
        r.Bool("is_schedule_active", nullable: false) ?? true,
        r.Object("parameters", nullable: false) ?? RawJson.EmptyObject,
        r.StringList("tags", nullable: false) ?? [],
        r.String("manifest_path"),
        r.Name("work_queue_name"),
        r.Uuid("storage_document_id"),
        r.Uuid("infrastructure_document_id"),
        ScheduleBody.Read(r),
        r.String("description"),
        r.Object("parameter_openapi_schema"),
        r.String("path"),
        r.Name("version"),
        r.String("entrypoint"),
        r.Object("infra_overrides", nullable: false) ?? RawJson.EmptyObject);
}

public sealed record DeploymentFlowRunCreate(
    State? State,
    string? Name,
    RawJson Parameters,
    RawJson Context,
    Guid? InfrastructureDocumentId,
    EmpiricalPolicy EmpiricalPolicy,
    List<string> Tags,
    string? IdempotencyKey,
    Guid? ParentTaskRunId) : IRequestBody<DeploymentFlowRunCreate>
{
    public static DeploymentFlowRunCreate Read(JsonObjectReader r) => new(
        StateCreate.ReadNested(r, "state"),
        r.Name("name"),
        r.Object("parameters", nullable: false) ?? RawJson.EmptyObject,
        r.Object("context", nullable: false) ?? RawJson.EmptyObject,
        r.Uuid("infrastructure_document_id"),
        Policies.Read(r),
        r.StringList("tags", nullable: false) ?? [],
        r.Name("idempotency_key"),
        r.Uuid("parent_task_run_id"));
}

/// <summary>The body of <c>set_state</c>: a state and the force flag (top-level keys are lenient).</summary>
public sealed record SetStateRequest(State State, bool Force) : IRequestBody<SetStateRequest>
{
    public static bool ForbidsExtraKeys => false;

    public static SetStateRequest Read(JsonObjectReader r) =>
        new(StateCreate.ReadNested(r, "state", required: true)!, r.Bool("force") ?? false);
}

/// <summary>
/// A proposed state (<c>StateCreate</c>). The server assigns id and timestamp, so a client's are accepted
/// and ignored; a missing name takes the type's default.
/// </summary>
public static class StateCreate
{
    public static State? ReadNested(JsonObjectReader r, string key, bool required = false) =>
        r.Nested(key, Read, forbidExtra: true, required: required, nullable: !required);

    public static State Read(JsonObjectReader r)
    {
        StateType type = r.StateType("type", required: true) ?? StateType.Pending;
        string name = r.Name("name") ?? type.DefaultName();
        string? message = r.String("message");
        RawJson? data = r.Any("data");
        StateDetails details = r.Nested("state_details", ReadDetails, forbidExtra: false, nullable: false) ?? new StateDetails();
        r.Any("timestamp");
        r.Any("id");
        return new State { Id = Guid.Empty, Type = type, Name = name, Timestamp = default, Message = message, Data = data, StateDetails = details };
    }

    private static StateDetails ReadDetails(JsonObjectReader r) => new()
    {
        FlowRunId = r.Uuid("flow_run_id"),
        TaskRunId = r.Uuid("task_run_id"),
        ChildFlowRunId = r.Uuid("child_flow_run_id"),
        ScheduledTime = r.Timestamp("scheduled_time"),
        CacheKey = r.Name("cache_key"),
        CacheExpiration = r.Timestamp("cache_expiration"),
        UntrackableResult = r.Bool("untrackable_result") ?? false,
        TransitionId = r.Uuid("transition_id"),
    };
}

/// <summary>The <c>empirical_policy</c> object, with the legacy retry fields mapped as 2.7 does.</summary>
public static class Policies
{
    public static EmpiricalPolicy Read(JsonObjectReader r) =>
        r.Nested("empirical_policy", ReadPolicy, forbidExtra: false, nullable: false) ?? new EmpiricalPolicy();

    private static EmpiricalPolicy ReadPolicy(JsonObjectReader r)
    {
        int maxRetries = r.Int("max_retries", nullable: false) ?? 0;
        double retryDelaySeconds = r.Number("retry_delay_seconds", nullable: false) ?? 0;
        int? retries = r.Int("retries");
        int? retryDelay = r.Int("retry_delay");
        if ((retries is null or 0) && maxRetries != 0)
        {
            retries = maxRetries;
        }

        if ((retryDelay is null or 0) && retryDelaySeconds != 0)
        {
            retryDelay = (int)retryDelaySeconds;
        }

        return new EmpiricalPolicy { MaxRetries = maxRetries, RetryDelaySeconds = retryDelaySeconds, Retries = retries, RetryDelay = retryDelay };
    }
}

/// <summary>Flow and deployment names: characters that would break URLs are refused.</summary>
public static class Names
{
    private static readonly char[] Forbidden = ['/', '%', '&', '>', '<'];

    public static string? Read(JsonObjectReader r, string key, bool required)
    {
        string? name = r.Name(key, required: required, nullable: !required);
        if (name is not null && name.IndexOfAny(Forbidden) >= 0)
        {
            r.Error(key, "Name contains an invalid character: one of / % & > <", "value_error");
        }

        return name;
    }

}

public sealed record BlockTypeCreate(string Name, string Slug, string? LogoUrl, string? DocumentationUrl, string? Description, string? CodeExample) : IRequestBody<BlockTypeCreate>
{
    public static BlockTypeCreate Read(JsonObjectReader r) => new(
        r.Name("name", required: true) ?? "",
        r.Name("slug", required: true) ?? "",
        r.String("logo_url"),
        r.String("documentation_url"),
        r.String("description"),
        r.String("code_example"));
}

/// <summary>Only the fields present in the body change; each may be set to null.</summary>
public sealed record BlockTypeUpdate(string? LogoUrl, string? DocumentationUrl, string? Description, string? CodeExample) : IRequestBody<BlockTypeUpdate>
{
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlySet<string> Sent { get; private init; } = new HashSet<string>();

    public static BlockTypeUpdate Read(JsonObjectReader r)
    {
        string[] keys = ["logo_url", "documentation_url", "description", "code_example"];
        return new BlockTypeUpdate(r.String(keys[0]), r.String(keys[1]), r.String(keys[2]), r.String(keys[3]))
        {
            Sent = keys.Where(r.Has).ToHashSet(),
        };
    }

    public void ApplyTo(BlockType type)
    {
        if (Sent.Contains("logo_url")) type.LogoUrl = LogoUrl;
        if (Sent.Contains("documentation_url")) type.DocumentationUrl = DocumentationUrl;
        if (Sent.Contains("description")) type.Description = Description;
        if (Sent.Contains("code_example")) type.CodeExample = CodeExample;
    }
}

public sealed record BlockSchemaCreate(RawJson Fields, Guid BlockTypeId, List<string> Capabilities, string Version) : IRequestBody<BlockSchemaCreate>
{
    public static BlockSchemaCreate Read(JsonObjectReader r) => new(
        r.Object("fields", nullable: false) ?? RawJson.EmptyObject,
        r.Uuid("block_type_id", required: true) ?? Guid.Empty,
        r.StringList("capabilities", nullable: false) ?? [],
        r.Name("version", nullable: false) ?? BlockSchemaVersions.Unversioned);
}

public sealed record BlockDocumentCreate(string? Name, RawJson Data, Guid BlockSchemaId, Guid BlockTypeId, bool IsAnonymous) : IRequestBody<BlockDocumentCreate>
{
    public static BlockDocumentCreate Read(JsonObjectReader r)
    {
        var body = new BlockDocumentCreate(
            r.Name("name"),
            r.Object("data", nullable: false) ?? RawJson.EmptyObject,
            r.Uuid("block_schema_id", required: true) ?? Guid.Empty,
            r.Uuid("block_type_id", required: true) ?? Guid.Empty,
            r.Bool("is_anonymous", nullable: false) ?? false);
        if (body.Name is null && !body.IsAnonymous)
        {
            r.Error("__root__", "Names must be provided for block documents.", "value_error");
        }
        else if (body.Name is not null && !BlockDocumentNames.IsValid(body.Name))
        {
            r.Error("name", BlockDocumentNames.Rule, "value_error");
        }

        return body;
    }
}

public sealed record BlockDocumentUpdate(Guid? BlockSchemaId, RawJson Data, bool MergeExistingData) : IRequestBody<BlockDocumentUpdate>
{
    public static BlockDocumentUpdate Read(JsonObjectReader r) => new(
        r.Uuid("block_schema_id"),
        r.Object("data", nullable: false) ?? RawJson.EmptyObject,
        r.Bool("merge_existing_data", nullable: false) ?? true);
}

public static class BlockDocumentNames
{
    public const string Rule = "name must only contain lowercase letters, numbers, and dashes";

    public static bool IsValid(string name) => name.Length > 0 && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}

public sealed record LogCreate(string Name, int Level, string Message, DateTime Timestamp, Guid? FlowRunId, Guid? TaskRunId) : IRequestBody<LogCreate>
{
    /// <summary>The Prefect client drops a log larger than this (<c>PREFECT_LOGGING_ORION_MAX_LOG_SIZE</c>); the server refuses one.</summary>
    public const int MaxMessageLength = 1_000_000;

    public static LogCreate Read(JsonObjectReader r) => new(
        r.Name("name", required: true) ?? "",
        r.Int("level", required: true) ?? 0,
        r.Bounded("message", MaxMessageLength, required: true) ?? "",
        r.Timestamp("timestamp", required: true) ?? default,
        r.Uuid("flow_run_id"),
        r.Uuid("task_run_id"));
}

/// <summary>The body of <c>POST /logs/</c>: a list of log records, refused whole when any one is malformed.</summary>
public sealed record LogBatch(List<LogCreate> Logs) : IBindableFromHttpContext<LogBatch>, IEndpointParameterMetadataProvider
{
    public static async ValueTask<LogBatch?> BindAsync(HttpContext context, ParameterInfo parameter) =>
        new(await RequestBody.ReadListAsync(context.Request, LogCreate.Read, forbidExtra: true));

    public static void PopulateMetadata(ParameterInfo parameter, EndpointBuilder builder) =>
        RequestBodies.AddMetadata(builder, typeof(List<LogCreate>));
}

/// <summary>
/// The <c>{"confirm": true}</c> body of the database admin routes. Anything else, a malformed body
/// included, is no confirmation: 2.7.0 answers those 400, not 422.
/// </summary>
public sealed record DatabaseConfirmation(bool Confirm) : IBindableFromHttpContext<DatabaseConfirmation>, IEndpointParameterMetadataProvider
{
    public static async ValueTask<DatabaseConfirmation?> BindAsync(HttpContext context, ParameterInfo parameter)
    {
        try
        {
            return new(await RequestBody.ReadAsync(context.Request, r => r.Bool("confirm") ?? false, forbidExtra: false));
        }
        catch (RequestValidationException)
        {
            return new(false);
        }
    }

    public static void PopulateMetadata(ParameterInfo parameter, EndpointBuilder builder) =>
        builder.Metadata.Add(new AcceptsMetadata(["application/json", "*/*"], typeof(DatabaseConfirmation), isOptional: true));
}

/// <summary>The body of <c>PATCH /deployments/{id}</c>: only the keys present are written.</summary>
public sealed record DeploymentUpdate(
    string? Version,
    ScheduleBody? Schedule,
    string? Description,
    bool? IsScheduleActive,
    RawJson? Parameters,
    List<string>? Tags,
    string? WorkQueueName,
    string? Path,
    RawJson? InfraOverrides,
    string? Entrypoint,
    string? ManifestPath,
    Guid? StorageDocumentId,
    Guid? InfrastructureDocumentId) : IRequestBody<DeploymentUpdate>
{
    public IReadOnlySet<string> Sent { get; private init; } = new HashSet<string>();

    public static DeploymentUpdate Read(JsonObjectReader r)
    {
        string[] keys =
        [
            "version", "schedule", "description", "is_schedule_active", "parameters", "tags", "work_queue_name", "path",
            "infra_overrides", "entrypoint", "manifest_path", "storage_document_id", "infrastructure_document_id",
        ];
        return new DeploymentUpdate(
            r.Name("version"),
            ScheduleBody.Read(r),
            r.String("description"),
            r.Bool("is_schedule_active", nullable: false),
            r.Object("parameters", nullable: false),
            r.StringList("tags", nullable: false),
            r.Name("work_queue_name"),
            r.String("path"),
            r.Object("infra_overrides"),
            r.String("entrypoint"),
            r.String("manifest_path"),
            r.Uuid("storage_document_id"),
            r.Uuid("infrastructure_document_id"))
        {
            Sent = keys.Where(r.Has).ToHashSet(),
        };
    }
}

/// <summary>The body of <c>POST /deployments/{id}/schedule</c>: the window to create runs in (defaults: the scheduler's).</summary>
public sealed record ScheduleRunsRequest(DateTime? StartTime, DateTime? EndTime, double? MinTimeSeconds, int? MinRuns, int? MaxRuns)
    : IRequestBody<ScheduleRunsRequest>
{
    public static bool ForbidsExtraKeys => false;

    public static ScheduleRunsRequest Read(JsonObjectReader r) => new(
        r.Timestamp("start_time"),
        r.Timestamp("end_time"),
        r.Duration("min_time"),
        r.Int("min_runs"),
        r.Int("max_runs"));
}
