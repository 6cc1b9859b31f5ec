using System.Linq.Expressions;
using Orchestrator.Data;
using Orchestrator.Schemas.Validation;

namespace Orchestrator.Schemas;

// The bodies of the /filter endpoints: their filter objects, a sort where the resource has one, and a
// page. Top-level keys they do not know are ignored (FastAPI embeds each as its own body parameter).

/// <summary>The sort orders each resource's <c>/filter</c> accepts, in Prefect 2.7.0's spelling.</summary>
public static class Sorts
{
    public static readonly string[] Flows = ["NAME_ASC", "NAME_DESC", "CREATED_DESC", "UPDATED_DESC"];

    public static readonly string[] FlowRuns =
    [
        "ID_DESC", "START_TIME_ASC", "START_TIME_DESC", "EXPECTED_START_TIME_ASC", "EXPECTED_START_TIME_DESC",
        "NAME_ASC", "NAME_DESC", "NEXT_SCHEDULED_START_TIME_ASC", "END_TIME_DESC",
    ];

    public static readonly string[] TaskRuns =
    [
        "ID_DESC", "EXPECTED_START_TIME_ASC", "EXPECTED_START_TIME_DESC", "NAME_ASC", "NAME_DESC",
        "NEXT_SCHEDULED_START_TIME_ASC", "END_TIME_DESC",
    ];

    public static readonly string[] Deployments = ["NAME_ASC", "NAME_DESC", "CREATED_DESC", "UPDATED_DESC"];

    public static readonly string[] Logs = ["TIMESTAMP_ASC", "TIMESTAMP_DESC"];
}

public sealed record FlowFilterRequest(FilterSet Filters, string? Sort, Paging Paging) : IRequestBody<FlowFilterRequest>
{
    public static bool ForbidsExtraKeys => false;

    public static FlowFilterRequest Read(JsonObjectReader r) => new(FilterSet.Read(r), r.Enum("sort", Sorts.Flows), Paging.Read(r));
}

public sealed record FlowRunFilterRequest(FilterSet Filters, string? Sort, Paging Paging) : IRequestBody<FlowRunFilterRequest>
{
    public static bool ForbidsExtraKeys => false;

    public static FlowRunFilterRequest Read(JsonObjectReader r) => new(FilterSet.Read(r), r.Enum("sort", Sorts.FlowRuns), Paging.Read(r));
}

public sealed record TaskRunFilterRequest(FilterSet Filters, string? Sort, Paging Paging) : IRequestBody<TaskRunFilterRequest>
{
    public static bool ForbidsExtraKeys => false;

    public static TaskRunFilterRequest Read(JsonObjectReader r) => new(FilterSet.Read(r), r.Enum("sort", Sorts.TaskRuns), Paging.Read(r));
}

public sealed record DeploymentFilterRequest(FilterSet Filters, string? Sort, Paging Paging) : IRequestBody<DeploymentFilterRequest>
{
    public static bool ForbidsExtraKeys => false;

    public static DeploymentFilterRequest Read(JsonObjectReader r) => new(FilterSet.Read(r), r.Enum("sort", Sorts.Deployments), Paging.Read(r));
}

public sealed record LogFilterRequest(Expression<Func<Log, bool>>? Logs, string? Sort, Paging Paging) : IRequestBody<LogFilterRequest>
{
    public static bool ForbidsExtraKeys => false;

    public static LogFilterRequest Read(JsonObjectReader r) =>
        new(r.Nested("logs", FilterSet.LogFilter, forbidExtra: true), r.Enum("sort", Sorts.Logs), Paging.Read(r));
}

public sealed record BlockTypeFilterRequest(Expression<Func<BlockType, bool>>? BlockTypes, Paging Paging) : IRequestBody<BlockTypeFilterRequest>
{
    public static bool ForbidsExtraKeys => false;

    public static BlockTypeFilterRequest Read(JsonObjectReader r) =>
        new(r.Nested("block_types", FilterSet.BlockTypeFilter, forbidExtra: true), Paging.Read(r));
}

public sealed record BlockSchemaFilterRequest(Expression<Func<BlockSchema, bool>>? BlockSchemas, Paging Paging) : IRequestBody<BlockSchemaFilterRequest>
{
    public static bool ForbidsExtraKeys => false;

    public static BlockSchemaFilterRequest Read(JsonObjectReader r) =>
        new(r.Nested("block_schemas", FilterSet.BlockSchemaFilter, forbidExtra: true), Paging.Read(r));
}

/// <summary>The block-document criteria, and whether they ask about anonymous documents (hidden otherwise).</summary>
public sealed record BlockDocumentFilter(Expression<Func<BlockDocument, bool>> Where, bool AsksAnonymous);

public sealed record BlockDocumentFilterRequest(
    BlockDocumentFilter? BlockDocuments,
    Expression<Func<BlockType, bool>>? BlockTypes,
    bool IncludeSecrets,
    Paging Paging) : IRequestBody<BlockDocumentFilterRequest>
{
    public static bool ForbidsExtraKeys => false;

    public static BlockDocumentFilterRequest Read(JsonObjectReader r) => new(
        r.Nested("block_documents", n => new BlockDocumentFilter(FilterSet.BlockDocumentFilter(n), n.Has("is_anonymous")), forbidExtra: true),
        r.Nested("block_types", FilterSet.BlockTypeFilter, forbidExtra: true),
        r.Bool("include_secrets", nullable: false) ?? false,
        Paging.Read(r));
}

/// <summary>The body of the run-history endpoints: the window and the width of its buckets.</summary>
public sealed record HistoryRequest(DateTime HistoryStart, DateTime HistoryEnd, double HistoryIntervalSeconds) : IRequestBody<HistoryRequest>
{
    public static bool ForbidsExtraKeys => false;

    public static HistoryRequest Read(JsonObjectReader r) => new(
        r.Timestamp("history_start", required: true) ?? default,
        r.Timestamp("history_end", required: true) ?? default,
        r.Number("history_interval_seconds", required: true) ?? 0);
}
