using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;
using static Orchestrator.Tests.Infrastructure.Scenarios;

namespace Orchestrator.Tests.Orchestration.Rules;

/// <summary>
/// Terminal-state protection (TERM) is the same promise for both kinds of run, each kept by its own rule;
/// the rule's tests state it through these checks.
/// </summary>
internal static class TerminalProtection
{
    public static IEnumerable<object?[]> TerminalToAny =>
        from t in StateSets.Terminal from p in StateTypes.All select new object?[] { t, p };

    public static IEnumerable<object?[]> NonTerminalToAny =>
        from i in Contexts.TypesAndNone.Where(t => !t.IsTerminal()) from p in StateTypes.All select new object?[] { i, p };

    public static async Task AbortsEveryProposalUnlessForcedAsync(TestApp app, string kind, Func<OrchestrationRule> rule, StateType initial, StateType proposed)
    {
        Guid id = await app.RunInStateAsync(kind, new { type = initial.Wire() });
        await app.UpdateRunAsync(kind, id, r => r.RunCount = 1);
        if (kind == "task")
        {
            // Not retrying: the flow run's count has not moved since the task ran.
            await app.UpdateTaskRunAsync(id, r => r.FlowRunRunCount = 1);
            var task = await app.TaskRunAsync(id);
            await app.UpdateFlowRunAsync(task.FlowRunId, r => r.RunCount = 1);
        }

        var result = await app.ProposeAsync(kind, id, Proposal(proposed), Policy(rule));
        var forced = await app.SetStateAsync(kind, id, new { type = proposed.Wire() }, force: true);

        result.Status.Should().Be(SetStateStatus.Abort, $"{kind} {initial} -> {proposed}");
        result.Details.Reason.Should().Be("This run has already terminated.");
        forced.Body.Str("status").Should().Be("ACCEPT");
    }

    public static async Task DoesNotProtectAsync(TestApp app, string kind, Func<OrchestrationRule> rule, StateType? initial, StateType proposed)
    {
        Guid id = initial is { } type
            ? await app.RunInStateAsync(kind, new { type = type.Wire(), state_details = new { scheduled_time = Iso(DateTime.UtcNow) } })
            : await app.StatelessRunAsync(kind);

        var result = await app.ProposeAsync(kind, id, Proposal(proposed), Policy(rule));

        result.Status.Should().Be(SetStateStatus.Accept, $"{kind} {initial} -> {proposed}");
    }
}
