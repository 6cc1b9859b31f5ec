using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Infrastructure;

namespace Orchestrator.Orchestration.Transforms;

/// <summary>
/// When a flow run's new state is written (ACCEPT or REJECT, forced or not), queues a notification for
/// every active policy that matches the state's name and shares a tag with the run (an empty list
/// matching all), in the transition's own transaction: a state that is committed is announced, one that
/// is rolled back is not. The notifications service sends them.
/// </summary>
public sealed class QueueFlowRunNotifications : UniversalTransform
{
    public override async Task AfterTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (context is not FlowOrchestrationContext flow || context.ValidatedState is not { } state)
        {
            return;
        }

        var policies = await context.Db.FlowRunNotificationPolicies.AsNoTracking().Where(p => p.IsActive).ToListAsync(cancellationToken);
        foreach (var policy in policies.Where(p =>
            (p.StateNames.Count == 0 || p.StateNames.Contains(state.Name))
            && (p.Tags.Count == 0 || p.Tags.Intersect(flow.FlowRun.Tags).Any())))
        {
            context.Db.FlowRunNotifications.Add(new FlowRunNotification
            {
                Id = Ids.New(),
                Created = context.Now,
                FlowRunNotificationPolicyId = policy.Id,
                FlowRunStateId = state.Id,
                NextAttempt = context.Now,
            });
        }
    }
}
