using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Orchestrator.Data;

namespace Orchestrator.Orchestration;

/// <summary>
/// What the engine and the services report to OpenTelemetry: one activity per transition with the rules
/// that applied as events, and the counters and histograms named <c>orchestrator.*</c>. Without a
/// listener (no exporter configured) none of it costs more than a null check.
/// </summary>
public static class OrchestrationTelemetry
{
    public const string Name = "Orchestrator";

    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> Transitions = Meter.CreateCounter<long>(
        "orchestrator.transitions", "{transition}", "State transitions decided, by run kind, policy and outcome (ACCEPT, REJECT, WAIT, ABORT).");

    public static readonly Counter<long> RuleChanges = Meter.CreateCounter<long>(
        "orchestrator.rule.changes", "{transition}", "Transitions a rule changed, by rule and what it did (rejected, delayed, aborted, renamed, repeated).");

    public static readonly Histogram<double> TransitionDuration = Meter.CreateHistogram<double>(
        "orchestrator.transition.duration", "ms", "Time from locking the run to the transition's writes being sent, by run kind and outcome.");

    public static readonly Counter<long> ServiceCycles = Meter.CreateCounter<long>(
        "orchestrator.service.cycles", "{cycle}", "Cycles of a background service (scheduler, late runs, notifications, slot reaper), by service and result.");

    public static readonly Counter<long> ServiceWork = Meter.CreateCounter<long>(
        "orchestrator.service.work", "{item}", "What background services did (runs scheduled, marked late, notifications sent, slots taken back), by service.");

    public static readonly Counter<long> SlotWaits = Meter.CreateCounter<long>(
        "orchestrator.slot.waits", "{answer}", "WAIT answers for a full concurrency limit, by tag.");

    /// <summary>The task runs of this instance told to WAIT for a tag, until their wait is over.</summary>
    private static readonly ConcurrentDictionary<(string Tag, Guid TaskRun), DateTime> Waiting = new();

    public static void Waits(string tag, Guid taskRunId, DateTime until)
    {
        SlotWaits.Add(1, new KeyValuePair<string, object?>("tag", tag));
        Waiting[(tag, taskRunId)] = until;
    }

    public static void StopsWaiting(Guid taskRunId, IEnumerable<string> tags)
    {
        foreach (string tag in tags)
        {
            Waiting.TryRemove((tag, taskRunId), out _);
        }
    }

    /// <summary>Waiters per tag on this instance: told to WAIT, and not yet due back (or just due).</summary>
    public static Dictionary<string, int> WaitersByTag(DateTime now)
    {
        foreach (var (key, until) in Waiting)
        {
            // A waiter that never came back stops counting a little after it was due.
            if (until < now.AddSeconds(-5))
            {
                Waiting.TryRemove(key, out _);
            }
        }

        return Waiting.Keys.GroupBy(k => k.Tag).ToDictionary(g => g.Key, g => g.Count());
    }

    /// <summary>Starts a transition's activity, a child of the request's when there is one.</summary>
    public static Activity? StartTransition(string kind, Guid runId, StateType? from, StateType? to, string policy)
    {
        var activity = Source.StartActivity($"{kind} run transition");
        activity?.SetTag("orchestrator.run.kind", kind)
            .SetTag("orchestrator.run.id", runId)
            .SetTag("orchestrator.state.from", from?.ToWire())
            .SetTag("orchestrator.state.proposed", to?.ToWire())
            .SetTag("orchestrator.policy", policy);
        return activity;
    }

    /// <summary>Ends a transition's telemetry: rule events on its activity, the counters and the duration.</summary>
    public static void EndTransition(Activity? activity, OrchestrationContext context, string kind, string policy, double elapsedMs)
    {
        string outcome = context.ResponseStatus.ToWire();
        var kindTag = new KeyValuePair<string, object?>("run_kind", kind);
        var outcomeTag = new KeyValuePair<string, object?>("outcome", outcome);
        Transitions.Add(1, kindTag, new("policy", policy), outcomeTag);
        TransitionDuration.Record(elapsedMs, kindTag, outcomeTag);
        foreach (var (rule, did) in context.Trace)
        {
            // A fizzled rule did not change the transition; the rule that made it fizzle did.
            if (did is not ("passed" or "fizzled"))
            {
                RuleChanges.Add(1, new("rule", rule), new("change", did));
            }

            activity?.AddEvent(new ActivityEvent(rule, tags: new ActivityTagsCollection { ["orchestrator.rule.outcome"] = did }));
        }

        activity?.SetTag("orchestrator.outcome", outcome)
            .SetTag("orchestrator.state.validated", context.ValidatedState?.Type.ToWire())
            .SetTag("orchestrator.reason", context.ResponseDetails.Reason);
    }
}
