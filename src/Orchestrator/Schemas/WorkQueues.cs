using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Orchestration;
using Orchestrator.Schemas.Validation;

namespace Orchestrator.Schemas;

// Work queues: the bodies of their routes, the response shapes, and the deprecated legacy filter.

public sealed record WorkQueueResponse(
    Guid Id, DateTime Created, DateTime Updated, string Name, string Description, bool IsPaused,
    int? ConcurrencyLimit, RawJson? Filter, DateTime? LastPolled);

/// <summary>The constant health policy 2.7.0 reports: no late runs, polled within the last minute.</summary>
public sealed record WorkQueueHealthPolicy(int MaximumLateRuns, int MaximumSecondsSinceLastPolled);

public sealed record WorkQueueStatusResponse(bool Healthy, int LateRunsCount, DateTime? LastPolled, WorkQueueHealthPolicy HealthCheckPolicy);

public static class WorkQueueNames
{
    private static readonly char[] Forbidden = ['/', '%', '&', '>', '<'];

    /// <summary>Queue names are path segments of <c>/work_queues/name/{name}</c>: characters that break URLs are refused.</summary>
    public static string? Read(JsonObjectReader r, bool required)
    {
        string? name = r.Name("name", required: required, nullable: !required);
        if (name is not null && name.IndexOfAny(Forbidden) >= 0)
        {
            r.Error("name", $"Name '{name}' contains an invalid character. Must not contain any of: ['/', '%', '&', '>', '<'].", "value_error.invalidname");
        }

        return name;
    }

    /// <summary>A queue's concurrency limit: none, or zero and up (2.7.0 takes a negative one and never delivers).</summary>
    public static int? ReadLimit(JsonObjectReader r)
    {
        int? limit = r.Int("concurrency_limit");
        if (limit < 0)
        {
            r.Error("concurrency_limit", "ensure this value is greater than or equal to 0", "value_error.number.not_ge");
        }

        return limit;
    }

    public static WorkQueueResponse ToResponse(this WorkQueue q) =>
        new(q.Id, q.Created, q.Updated, q.Name, q.Description, q.IsPaused, q.ConcurrencyLimit, q.Filter, q.LastPolled);
}

/// <summary>Reads the deprecated <c>filter</c> object; keys it does not know are dropped, as 2.7.0 drops them.</summary>
public static class QueueFilters
{
    public static QueueFilter? Read(JsonObjectReader r) =>
        r.Nested("filter", f => new QueueFilter(f.StringList("tags"), f.UuidList("deployment_ids")), forbidExtra: false);
}

public sealed record WorkQueueCreate(string Name, string Description, bool IsPaused, int? ConcurrencyLimit, QueueFilter? Filter)
    : IRequestBody<WorkQueueCreate>
{
    public static WorkQueueCreate Read(JsonObjectReader r) => new(
        WorkQueueNames.Read(r, required: true) ?? "",
        r.String("description") ?? "",
        r.Bool("is_paused", nullable: false) ?? false,
        WorkQueueNames.ReadLimit(r),
        QueueFilters.Read(r));
}

/// <summary>Only the keys present in the body are written.</summary>
public sealed record WorkQueueUpdate(
    string? Name, string? Description, bool? IsPaused, int? ConcurrencyLimit, DateTime? LastPolled, QueueFilter? Filter)
    : IRequestBody<WorkQueueUpdate>
{
    public IReadOnlySet<string> Sent { get; private init; } = new HashSet<string>();

    public static WorkQueueUpdate Read(JsonObjectReader r)
    {
        string[] keys = ["name", "description", "is_paused", "concurrency_limit", "last_polled", "filter"];
        return new WorkQueueUpdate(
            r.Name("name"),
            r.String("description"),
            r.Bool("is_paused", nullable: false),
            WorkQueueNames.ReadLimit(r),
            r.Timestamp("last_polled"),
            QueueFilters.Read(r))
        {
            Sent = keys.Where(r.Has).ToHashSet(),
        };
    }
}

/// <summary>The <c>work_queues</c> filter has one criterion, <c>name</c> (its two parts ANDed), so its operator changes nothing.</summary>
public sealed record WorkQueueFilterRequest(List<string>? NameAny, List<string>? NameStartsWith, Paging Paging)
    : IRequestBody<WorkQueueFilterRequest>
{
    public static bool ForbidsExtraKeys => false;

    public static WorkQueueFilterRequest Read(JsonObjectReader r)
    {
        (List<string>? any, List<string>? startsWith) criteria = (null, null);
        r.Nested("work_queues", q =>
        {
            FilterSet.Operator(q);
            q.Nested("name", n =>
            {
                criteria.any = n.StringList("any_");
                criteria.startsWith = n.StringList("startswith_");
                return n;
            }, forbidExtra: true);
            return q;
        }, forbidExtra: true);
        return new WorkQueueFilterRequest(criteria.any, criteria.startsWith, Paging.Read(r));
    }
}

/// <summary>The body of <c>get_runs</c>: how many runs, due before when, and which agent asks.</summary>
public sealed record GetRunsRequest(DateTime? ScheduledBefore, Guid? AgentId, Paging Paging) : IRequestBody<GetRunsRequest>
{
    public static bool ForbidsExtraKeys => false;

    public static GetRunsRequest Read(JsonObjectReader r) =>
        new(r.Timestamp("scheduled_before"), r.Uuid("agent_id"), Paging.Read(r));
}
