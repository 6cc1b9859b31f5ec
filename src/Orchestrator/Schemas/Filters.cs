using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Query;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;

namespace Orchestrator.Schemas;

/// <summary>
/// The filter objects of the <c>/filter</c> and <c>/count</c> endpoints, read into LINQ predicates that EF
/// translates to SQL on both databases. Each object combines its criteria with its <c>operator</c>
/// (<c>and_</c> by default); absent criteria are ignored, so an empty object matches everything.
/// </summary>
public sealed class FilterSet : IRequestBody<FilterSet>
{
    public Expression<Func<Flow, bool>>? Flows { get; private init; }
    public Expression<Func<FlowRun, bool>>? FlowRuns { get; private init; }
    public Expression<Func<TaskRun, bool>>? TaskRuns { get; private init; }
    public Expression<Func<Deployment, bool>>? Deployments { get; private init; }

    /// <summary>
    /// The query roots of criteria that look into another table (a task run's subflow runs). The body is
    /// read before any database is at hand, so those criteria are built over this holder, which the
    /// ApplyTo methods point at the request's context; EF inlines the query it holds when it translates.
    /// </summary>
    private QueryRoots Roots { get; init; } = new();

    /// <summary>The <c>/count</c> bodies are the four filter objects; other top-level keys are ignored.</summary>
    public static bool ForbidsExtraKeys => false;

    public static FilterSet Read(JsonObjectReader r)
    {
        var roots = new QueryRoots();
        return new FilterSet
        {
            Roots = roots,
            Flows = r.Nested("flows", FlowFilter, forbidExtra: true),
            FlowRuns = r.Nested("flow_runs", FlowRunFilter, forbidExtra: true),
            TaskRuns = r.Nested("task_runs", n => TaskRunFilter(n, roots), forbidExtra: true),
            Deployments = r.Nested("deployments", DeploymentFilter, forbidExtra: true),
        };
    }

    private sealed class QueryRoots
    {
        public IQueryable<FlowRun> FlowRuns { get; set; } = Enumerable.Empty<FlowRun>().AsQueryable();
    }

    /// <summary>Flows matching the flow filter, with a matching deployment and a matching flow run.</summary>
    public IQueryable<Flow> ApplyTo(IQueryable<Flow> flows, OrchestratorDbContext db)
    {
        Roots.FlowRuns = db.FlowRuns;
        if (Flows is not null)
        {
            flows = flows.Where(Flows);
        }

        if (Deployments is not null)
        {
            var deployments = db.Deployments.Where(Deployments);
            flows = flows.Where(f => deployments.Any(d => d.FlowId == f.Id));
        }

        if (FlowRuns is not null || TaskRuns is not null)
        {
            var runs = new FilterSet { Roots = Roots, FlowRuns = FlowRuns, TaskRuns = TaskRuns }.ApplyTo(db.FlowRuns, db);
            flows = flows.Where(f => runs.Any(r => r.FlowId == f.Id));
        }

        return flows;
    }

    /// <summary>Flow runs matching the run filter whose flow, deployment and some task run match theirs.</summary>
    public IQueryable<FlowRun> ApplyTo(IQueryable<FlowRun> runs, OrchestratorDbContext db)
    {
        Roots.FlowRuns = db.FlowRuns;
        if (FlowRuns is not null)
        {
            runs = runs.Where(FlowRuns);
        }

        if (Flows is not null)
        {
            var flows = db.Flows.Where(Flows);
            runs = runs.Where(r => flows.Any(f => f.Id == r.FlowId));
        }

        if (Deployments is not null)
        {
            var deployments = db.Deployments.Where(Deployments);
            runs = runs.Where(r => deployments.Any(d => d.Id == r.DeploymentId));
        }

        if (TaskRuns is not null)
        {
            var taskRuns = db.TaskRuns.Where(TaskRuns);
            runs = runs.Where(r => taskRuns.Any(t => t.FlowRunId == r.Id));
        }

        return runs;
    }

    /// <summary>Task runs matching the task filter whose flow run (and its flow and deployment) match.</summary>
    public IQueryable<TaskRun> ApplyTo(IQueryable<TaskRun> taskRuns, OrchestratorDbContext db)
    {
        Roots.FlowRuns = db.FlowRuns;
        if (TaskRuns is not null)
        {
            taskRuns = taskRuns.Where(TaskRuns);
        }

        if (FlowRuns is not null || Flows is not null || Deployments is not null)
        {
            var runs = new FilterSet { Roots = Roots, FlowRuns = FlowRuns, Flows = Flows, Deployments = Deployments }.ApplyTo(db.FlowRuns, db);
            taskRuns = taskRuns.Where(t => runs.Any(r => r.Id == t.FlowRunId));
        }

        return taskRuns;
    }

    /// <summary>Deployments matching the deployment filter whose flow and some flow run match.</summary>
    public IQueryable<Deployment> ApplyTo(IQueryable<Deployment> deployments, OrchestratorDbContext db)
    {
        Roots.FlowRuns = db.FlowRuns;
        if (Deployments is not null)
        {
            deployments = deployments.Where(Deployments);
        }

        if (Flows is not null)
        {
            var flows = db.Flows.Where(Flows);
            deployments = deployments.Where(d => flows.Any(f => f.Id == d.FlowId));
        }

        if (FlowRuns is not null || TaskRuns is not null)
        {
            var runs = new FilterSet { Roots = Roots, FlowRuns = FlowRuns, TaskRuns = TaskRuns }.ApplyTo(db.FlowRuns, db);
            deployments = deployments.Where(d => runs.Any(r => r.DeploymentId == d.Id));
        }

        return deployments;
    }

    private static Expression<Func<Flow, bool>> FlowFilter(JsonObjectReader r)
    {
        var all = new Criteria<Flow>(r);
        all.Add("id", Any<Flow>(f => f.Id));
        all.Add("name", Names<Flow>(f => f.Name));
        all.Add("tags", Tags<Flow>(f => f.Tags));
        return all.Combine();
    }

    private static Expression<Func<FlowRun, bool>> FlowRunFilter(JsonObjectReader r)
    {
        var all = new Criteria<FlowRun>(r);
        all.Add("id", n =>
        {
            var any = n.UuidList("any_");
            var notAny = n.UuidList("not_any_");
            var c = new List<Expression<Func<FlowRun, bool>>>();
            if (any is not null) c.Add(x => any.Contains(x.Id));
            if (notAny is not null) c.Add(x => !notAny.Contains(x.Id));
            return Combine(c, and: true);
        });
        all.Add("name", Names<FlowRun>(x => x.Name));
        all.Add("tags", Tags<FlowRun>(x => x.Tags));
        all.Add("deployment_id", NullableIds<FlowRun>(x => x.DeploymentId));
        all.Add("work_queue_name", n =>
        {
            var op = Operator(n);
            var any = n.StringList("any_");
            var isNull = n.Bool("is_null_");
            var c = new List<Expression<Func<FlowRun, bool>>>();
            if (any is not null) c.Add(x => x.WorkQueueName != null && any.Contains(x.WorkQueueName));
            if (isNull is { } wantNull) c.Add(wantNull ? x => x.WorkQueueName == null : x => x.WorkQueueName != null);
            return Combine(c, op);
        });
        all.Add("state", States<FlowRun>());
        all.Add("flow_version", n =>
        {
            var any = n.StringList("any_");
            return any is null ? null : x => x.FlowVersion != null && any.Contains(x.FlowVersion);
        });
        all.Add("start_time", Times<FlowRun>(x => x.StartTime, withNull: true));
        all.Add("expected_start_time", Times<FlowRun>(x => x.ExpectedStartTime, withNull: false));
        all.Add("next_scheduled_start_time", Times<FlowRun>(x => x.NextScheduledStartTime, withNull: false));
        all.Add("parent_task_run_id", NullableIds<FlowRun>(x => x.ParentTaskRunId));
        return all.Combine();
    }

    private static Expression<Func<TaskRun, bool>> TaskRunFilter(JsonObjectReader r, QueryRoots roots)
    {
        var all = new Criteria<TaskRun>(r);
        all.Add("id", Any<TaskRun>(t => t.Id));
        all.Add("name", Names<TaskRun>(t => t.Name));
        all.Add("tags", Tags<TaskRun>(t => t.Tags));
        all.Add("state", States<TaskRun>());
        all.Add("start_time", Times<TaskRun>(t => t.StartTime, withNull: true));
        all.Add("subflow_runs", n =>
        {
            bool? exists = n.Bool("exists_");
            return exists is { } e ? t => roots.FlowRuns.Any(f => f.ParentTaskRunId == t.Id) == e : null;
        });
        return all.Combine();
    }

    private static Expression<Func<Deployment, bool>> DeploymentFilter(JsonObjectReader r)
    {
        var all = new Criteria<Deployment>(r);
        all.Add("id", Any<Deployment>(d => d.Id));
        all.Add("name", Names<Deployment>(d => d.Name));
        all.Add("is_schedule_active", n =>
        {
            bool? eq = n.Bool("eq_");
            return eq is { } v ? d => d.IsScheduleActive == v : null;
        });
        all.Add("tags", Tags<Deployment>(d => d.Tags));
        all.Add("work_queue_name", n =>
        {
            var any = n.StringList("any_");
            return any is null ? null : d => d.WorkQueueName != null && any.Contains(d.WorkQueueName);
        });
        return all.Combine();
    }

    /// <summary>The <c>logs</c> object of <c>/api/logs/filter</c>.</summary>
    public static Expression<Func<Log, bool>> LogFilter(JsonObjectReader r)
    {
        var all = new Criteria<Log>(r);
        all.Add("level", n =>
        {
            int? ge = n.Int("ge_");
            int? le = n.Int("le_");
            var c = new List<Expression<Func<Log, bool>>>();
            if (ge is { } min) c.Add(l => l.Level >= min);
            if (le is { } max) c.Add(l => l.Level <= max);
            return Combine(c, and: true);
        });
        all.Add("timestamp", n =>
        {
            DateTime? before = n.Timestamp("before_");
            DateTime? after = n.Timestamp("after_");
            var c = new List<Expression<Func<Log, bool>>>();
            if (before is { } b) c.Add(l => l.Timestamp <= b);
            if (after is { } a) c.Add(l => l.Timestamp >= a);
            return Combine(c, and: true);
        });
        all.Add("flow_run_id", NullableIds<Log>(l => l.FlowRunId));
        all.Add("task_run_id", NullableIds<Log>(l => l.TaskRunId));
        return all.Combine();
    }

    /// <summary>The <c>block_types</c> object of the block filters.</summary>
    public static Expression<Func<BlockType, bool>> BlockTypeFilter(JsonObjectReader r)
    {
        var all = new Criteria<BlockType>(r);
        all.Add("name", Names<BlockType>(t => t.Name));
        all.Add("slug", n =>
        {
            var any = n.StringList("any_");
            return any is null ? null : t => any.Contains(t.Slug);
        });
        return all.Combine();
    }

    /// <summary>The <c>block_schemas</c> object of <c>/api/block_schemas/filter</c>.</summary>
    public static Expression<Func<BlockSchema, bool>> BlockSchemaFilter(JsonObjectReader r)
    {
        var all = new Criteria<BlockSchema>(r);
        all.Add("id", Any<BlockSchema>(s => s.Id));
        all.Add("block_type_id", Any<BlockSchema>(s => s.BlockTypeId));
        all.Add("block_capabilities", Tags<BlockSchema>(s => s.Capabilities));
        all.Add("version", n =>
        {
            var any = n.StringList("any_");
            return any is null ? null : s => any.Contains(s.Version);
        });
        return all.Combine();
    }

    /// <summary>The <c>block_documents</c> object of <c>/api/block_documents/filter</c>.</summary>
    public static Expression<Func<BlockDocument, bool>> BlockDocumentFilter(JsonObjectReader r)
    {
        var all = new Criteria<BlockDocument>(r);
        all.Add("id", Any<BlockDocument>(d => d.Id));
        all.Add("name", Names<BlockDocument>(d => d.Name));
        all.Add("block_type_id", Any<BlockDocument>(d => d.BlockTypeId));
        all.Add("is_anonymous", n =>
        {
            bool? eq = n.Bool("eq_");
            return eq is { } v ? d => d.IsAnonymous == v : null;
        });
        return all.Combine();
    }

    // Criterion builders, shared by the filters. Each reads its own sub-object.

    private static Func<JsonObjectReader, Expression<Func<T, bool>>?> Any<T>(Expression<Func<T, Guid>> id) => n =>
    {
        var any = n.UuidList("any_");
        return any is null ? null : Bind(id, v => any.Contains(v));
    };

    private static Func<JsonObjectReader, Expression<Func<T, bool>>?> Names<T>(Expression<Func<T, string>> name) => n =>
    {
        var any = n.StringList("any_");
        string? like = n.Name("like_");
        var c = new List<Expression<Func<T, bool>>>();
        if (any is not null) c.Add(Bind(name, v => any.Contains(v)));
        if (like is not null)
        {
            string pattern = $"%{like.ToLowerInvariant()}%";
            c.Add(Bind(name, v => EF.Functions.Like(v.ToLower(), pattern)));
        }

        return Combine(c, and: true);
    };

    private static Func<JsonObjectReader, Expression<Func<T, bool>>?> Tags<T>(Expression<Func<T, List<string>>> tags) => n =>
    {
        var op = Operator(n);
        var all = n.StringList("all_");
        bool? isNull = n.Bool("is_null_");
        var c = new List<Expression<Func<T, bool>>>();
        if (all is { Count: > 0 })
        {
            // all_ is one criterion: every listed tag, whatever the object's operator. Counted in one
            // subquery rather than one condition per tag, which SQLite refuses past a depth of 1000.
            var wanted = all.Distinct().ToList();
            int count = wanted.Count;
            c.Add(Bind(tags, v => v.Where(t => wanted.Contains(t)).Distinct().Count() == count));
        }

        if (isNull is { } wantEmpty)
        {
            c.Add(Bind(tags, v => wantEmpty ? v.Count == 0 : v.Count > 0));
        }

        return Combine(c, op);
    };

    private static Func<JsonObjectReader, Expression<Func<T, bool>>?> NullableIds<T>(Expression<Func<T, Guid?>> id) => n =>
    {
        var op = Operator(n);
        var any = n.UuidList("any_");
        bool? isNull = n.Bool("is_null_");
        var c = new List<Expression<Func<T, bool>>>();
        if (any is not null)
        {
            var nullableAny = any.Select(g => (Guid?)g).ToList();
            c.Add(Bind(id, v => v != null && nullableAny.Contains(v)));
        }

        if (isNull is { } wantNull) c.Add(Bind(id, v => wantNull ? v == null : v != null));
        return Combine(c, op);
    };

    private static Func<JsonObjectReader, Expression<Func<T, bool>>?> States<T>() where T : Run => n =>
    {
        var op = Operator(n);
        var types = n.Nested("type", t => t.StateTypeList("any_") ?? [], forbidExtra: true);
        var names = n.Nested("name", t => t.StringList("any_") ?? [], forbidExtra: true);
        var c = new List<Expression<Func<T, bool>>>();
        if (types is not null)
        {
            var nullable = types.Select(t => (StateType?)t).ToList();
            c.Add(x => x.StateType != null && nullable.Contains(x.StateType));
        }

        if (names is not null) c.Add(x => x.StateName != null && names.Contains(x.StateName));
        return Combine(c, op);
    };

    private static Func<JsonObjectReader, Expression<Func<T, bool>>?> Times<T>(Expression<Func<T, DateTime?>> time, bool withNull) => n =>
    {
        DateTime? before = n.Timestamp("before_");
        DateTime? after = n.Timestamp("after_");
        bool? isNull = withNull ? n.Bool("is_null_") : null;
        var c = new List<Expression<Func<T, bool>>>();
        if (before is { } b) c.Add(Bind(time, v => v != null && v <= b));
        if (after is { } a) c.Add(Bind(time, v => v != null && v >= a));
        if (isNull is { } wantNull) c.Add(Bind(time, v => wantNull ? v == null : v != null));
        return Combine(c, and: true);
    };

    /// <summary>Values that start with any of the prefixes, case-insensitively (<c>startswith_</c>).</summary>
    public static Expression<Func<T, bool>> AnyPrefix<T>(Expression<Func<T, string>> value, IReadOnlyList<string> prefixes) =>
        Combine(prefixes.Select(p => p.ToLowerInvariant() + "%").Select(pattern => Bind(value, v => EF.Functions.Like(v.ToLower(), pattern))).ToList(), and: false)!;

    /// <summary>A filter object's <c>operator</c>: true for <c>and_</c> (the default), false for <c>or_</c>.</summary>
    internal static bool Operator(JsonObjectReader n)
    {
        string? op = n.String("operator", nullable: false);
        if (op is not null and not "and_" and not "or_")
        {
            n.Error("operator", "value is not a valid enumeration member; permitted: 'and_', 'or_'", "type_error.enum");
        }

        return op != "or_";
    }

    /// <summary>Composes <c>selector</c> into <c>predicate</c>: x =&gt; predicate(selector(x)), inlined for EF.</summary>
    private static Expression<Func<T, bool>> Bind<T, TValue>(Expression<Func<T, TValue>> selector, Expression<Func<TValue, bool>> predicate)
    {
        Expression body = ReplacingExpressionVisitor.Replace(predicate.Parameters[0], selector.Body, predicate.Body);
        return Expression.Lambda<Func<T, bool>>(body, selector.Parameters);
    }

    internal static Expression<Func<T, bool>>? Combine<T>(IReadOnlyList<Expression<Func<T, bool>>> criteria, bool and)
    {
        if (criteria.Count == 0)
        {
            return null;
        }

        ParameterExpression parameter = criteria[0].Parameters[0];
        var bodies = criteria.Select(c => ReplacingExpressionVisitor.Replace(c.Parameters[0], parameter, c.Body)).ToList();
        Expression body = Balanced(bodies, 0, bodies.Count, and);
        return Expression.Lambda<Func<T, bool>>(body, parameter);
    }

    /// <summary>
    /// The criteria joined as a balanced tree rather than a chain: translating a chain recurses once per
    /// criterion, and a long list of <c>all_</c> tags overflowed the stack and took the process down.
    /// </summary>
    private static Expression Balanced(List<Expression> bodies, int from, int to, bool and)
    {
        if (to - from == 1)
        {
            return bodies[from];
        }

        int middle = from + ((to - from) / 2);
        Expression left = Balanced(bodies, from, middle, and);
        Expression right = Balanced(bodies, middle, to, and);
        return and ? Expression.AndAlso(left, right) : Expression.OrElse(left, right);
    }

    /// <summary>Collects the criteria of one filter object and combines them with its operator.</summary>
    private sealed class Criteria<T>(JsonObjectReader reader)
    {
        private readonly List<Expression<Func<T, bool>>> _criteria = [];
        private readonly bool _and = Operator(reader);

        public void Add(string key, Func<JsonObjectReader, Expression<Func<T, bool>>?> read)
        {
            // A criterion object that is absent, null or empty adds nothing.
            var criterion = reader.Nested(key, n => new Box(read(n)), forbidExtra: true);
            if (criterion?.Value is { } expression)
            {
                _criteria.Add(expression);
            }
        }

        public Expression<Func<T, bool>> Combine() => FilterSet.Combine(_criteria, _and) ?? (_ => true);

        private sealed record Box(Expression<Func<T, bool>>? Value);
    }
}
