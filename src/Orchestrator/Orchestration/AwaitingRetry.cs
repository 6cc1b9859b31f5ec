using Orchestrator.Data;

namespace Orchestrator.Orchestration;

/// <summary>The state both retry rules answer with: SCHEDULED "AwaitingRetry" after the run's retry delay.</summary>
internal static class AwaitingRetry
{
    public const string Name = "AwaitingRetry";

    public static DateTime RetryAt(OrchestrationContext context) =>
        context.Now.AddSeconds(context.RunSettings.RetryDelay ?? 0);

    public static State Build(OrchestrationContext context) => context.NewState(
        StateType.Scheduled,
        Name,
        context.ProposedState?.Message,
        context.ProposedState?.Data,
        new StateDetails { ScheduledTime = RetryAt(context) });
}
