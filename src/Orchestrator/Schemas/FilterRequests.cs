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

/// <summary>The body of the run-history endpoints: the window, the width of its buckets, and which runs count.</summary>
public sealed record HistoryRequest(DateTime HistoryStart, DateTime HistoryEnd, double HistoryIntervalSeconds, FilterSet Filters)
    : IRequestBody<HistoryRequest>
{
    public static bool ForbidsExtraKeys => false;

    public static HistoryRequest Read(JsonObjectReader r) => new(
        r.Timestamp("history_start", required: true) ?? default,
        r.Timestamp("history_end", required: true) ?? default,
        r.Duration("history_interval_seconds", required: true) ?? 0,
        FilterSet.Read(r));
}

/// <summary>The body of <c>POST /ui/flow_runs/history</c>: flow-run filters, a sort and up to 1000 points.</summary>
public sealed record UiHistoryRequest(FilterSet Filters, string? Sort, int Limit, int Offset) : IRequestBody<UiHistoryRequest>
{
    public static bool ForbidsExtraKeys => false;

    public static UiHistoryRequest Read(JsonObjectReader r)
    {
        var filters = FilterSet.Read(r);
        string? sort = r.Enum("sort", Sorts.FlowRuns);
        int limit = r.Int("limit") ?? 1000;
        if (limit > 1000)
        {
            r.Error("limit", "ensure this value is less than or equal to 1000", "value_error.number.not_le");
        }

        int offset = r.Int("offset") ?? 0;
        if (offset < 0)
        {
            r.Error("offset", "ensure this value is greater than or equal to 0", "value_error.number.not_ge");
        }

        return new UiHistoryRequest(filters, sort ?? "EXPECTED_START_TIME_DESC", limit, offset);
    }
}

/// <summary>One group of a history bucket: the runs in one current state.</summary>
public sealed record HistoryState(StateType StateType, string StateName, int CountRuns, double SumEstimatedRunTime, double SumEstimatedLateness);

public sealed record HistoryBucket(DateTime IntervalStart, DateTime IntervalEnd, List<HistoryState> States);

/// <summary>One point of the UI's scatter plot: when the run started (or should have), how long, how late.</summary>
public sealed record HistoryPoint(Guid Id, StateType? StateType, DateTime? Timestamp, double Duration, double Lateness);
