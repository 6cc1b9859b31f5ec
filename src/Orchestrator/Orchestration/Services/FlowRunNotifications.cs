using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Orchestration.Notifications;

namespace Orchestrator.Orchestration.Services;

/// <summary>
/// Sends the notifications the policies queued (server-services.md §9.4), oldest first. Each one is first
/// claimed in a short transaction (on PostgreSQL with <c>FOR UPDATE SKIP LOCKED</c>, so several server
/// instances never take the same one) by moving its next attempt a lease ahead; it is then sent outside
/// any transaction and deleted. A delivery that fails is logged and tried again later, with a doubling
/// wait, until <c>MaxAttempts</c>; then it is given up with an error in the log, never silently. A server
/// that dies while sending retries the notification when its lease runs out.
/// </summary>
public sealed class FlowRunNotifications(
    IServiceScopeFactory scopes, NotificationSender sender, TimeProvider time, IOptions<ServiceOptions> options, ILogger<FlowRunNotifications> logger)
    : LoopService(time, logger)
{
    public const string Subject = "Prefect flow run notification";

    /// <summary>How long a claimed notification is kept from other senders while it is sent.</summary>
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);

    private NotificationsOptions Settings => options.Value.Notifications;

    protected override bool Enabled => Settings.Enabled;

    protected override TimeSpan Interval => TimeSpan.FromSeconds(Settings.LoopSeconds);

    protected override string Describe(int done) => $"{done} notifications sent";

    public override async Task<int> RunCycleAsync(CancellationToken cancellationToken)
    {
        int sent = 0;
        var tried = new HashSet<Guid>();
        while (await ClaimAsync(cancellationToken) is { } claim && tried.Add(claim.Id))
        {
            if (claim.Skip)
            {
                continue;
            }

            try
            {
                await sender.SendAsync(claim.BlockTypeSlug, claim.Data, claim.Message, cancellationToken);
                await FinishAsync(claim.Id, delivered: true, error: null, cancellationToken);
                sent++;
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                await FinishAsync(claim.Id, delivered: false, error, cancellationToken);
            }
        }

        return sent;
    }

    private sealed record Claim(Guid Id, string BlockTypeSlug, JsonNode? Data, NotificationMessage Message, bool Skip = false);

    private async Task<Claim?> ClaimAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        DateTime now = Time.UtcNow();
        return await db.InTransactionAsync(async () =>
        {
            var notification = db.IsPostgres
                ? await db.FlowRunNotifications
                    .FromSql($"SELECT * FROM flow_run_notification WHERE next_attempt <= {now} ORDER BY created, id LIMIT 1 FOR UPDATE SKIP LOCKED")
                    .SingleOrDefaultAsync(cancellationToken)
                : await db.FlowRunNotifications.Where(n => n.NextAttempt <= now).OrderBy(n => n.Created).ThenBy(n => n.Id).FirstOrDefaultAsync(cancellationToken);
            if (notification is null)
            {
                return null;
            }

            notification.NextAttempt = now + Lease;
            await db.SaveChangesAsync(cancellationToken);
            try
            {
                return await MessageOfAsync(db, notification, cancellationToken);
            }
            catch (Exception error) when (error is InvalidOperationException or FormatException or System.Text.Json.JsonException)
            {
                // What it announces cannot be read (a row changed under it): it can never be sent, so it
                // is said once and dropped rather than retried forever at the head of the queue.
                Logger.LogError(error, "Notification {NotificationId} cannot be composed; it is dropped", notification.Id);
                db.FlowRunNotifications.Remove(notification);
                await db.SaveChangesAsync(cancellationToken);
                return new Claim(notification.Id, "", null, new NotificationMessage(Subject, ""), Skip: true);
            }
        }, cancellationToken);
    }

    private async Task<Claim> MessageOfAsync(OrchestratorDbContext db, FlowRunNotification notification, CancellationToken cancellationToken)
    {
        // Everything the message says, in one statement: the policy, the state, its run and flow, and the block.
        var found = await (
            from policy in db.FlowRunNotificationPolicies
            where policy.Id == notification.FlowRunNotificationPolicyId
            join state in db.FlowRunStates on notification.FlowRunStateId equals state.Id
            join run in db.FlowRuns on state.FlowRunId equals run.Id
            join flow in db.Flows on run.FlowId equals flow.Id
            join document in db.BlockDocuments on policy.BlockDocumentId equals document.Id
            select new
            {
                policy.Id,
                policy.MessageTemplate,
                StateType = state.Type,
                StateName = state.Name,
                state.Timestamp,
                state.Message,
                RunId = run.Id,
                RunName = run.Name,
                run.Parameters,
                FlowId = flow.Id,
                FlowName = flow.Name,
                document.Data,
                BlockTypeSlug = document.BlockType!.Slug,
            }).AsNoTracking().SingleAsync(cancellationToken);
        var values = new Dictionary<string, string>
        {
            ["flow_run_notification_policy_id"] = found.Id.ToString(),
            ["flow_id"] = found.FlowId.ToString(),
            ["flow_name"] = found.FlowName,
            ["flow_run_id"] = found.RunId.ToString(),
            ["flow_run_name"] = found.RunName,
            ["flow_run_url"] = $"{(Settings.UiUrl ?? "http://ephemeral-orion/api").TrimEnd('/')}/flow-runs/flow-run/{found.RunId}",
            ["flow_run_parameters"] = NotificationSender.PythonRepr(JsonNode.Parse(found.Parameters.Text)),
            ["flow_run_state_type"] = $"StateType.{found.StateType.ToWire()}",
            ["flow_run_state_name"] = found.StateName,
            ["flow_run_state_timestamp"] = PythonTimestamp(found.Timestamp),
            ["flow_run_state_message"] = found.Message ?? "None",
        };
        string body = MessageTemplates.Render(found.MessageTemplate ?? MessageTemplates.Default, name => values[name], out _) ?? "";
        return new Claim(notification.Id, found.BlockTypeSlug, JsonNode.Parse(found.Data.Text), new NotificationMessage(Subject, body));
    }

    private async Task FinishAsync(Guid id, bool delivered, Exception? error, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        var notification = await db.FlowRunNotifications.FirstOrDefaultAsync(n => n.Id == id, cancellationToken);
        if (notification is null)
        {
            return;
        }

        if (delivered)
        {
            db.FlowRunNotifications.Remove(notification);
        }
        else if (++notification.Attempts >= Settings.MaxAttempts)
        {
            Logger.LogError(error, "Notification {NotificationId} could not be delivered after {Attempts} attempts; it is given up", id, notification.Attempts);
            db.FlowRunNotifications.Remove(notification);
        }
        else
        {
            var wait = TimeSpan.FromSeconds(Settings.RetryDelaySeconds * Math.Pow(2, notification.Attempts - 1));
            notification.NextAttempt = Time.UtcNow() + wait;
            Logger.LogWarning("Notification {NotificationId} could not be delivered ({Reason}); attempt {Attempt} of {MaxAttempts} is in {Wait:0} s",
                id, error?.Message, notification.Attempts + 1, Settings.MaxAttempts, wait.TotalSeconds);
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>How Python prints a UTC datetime: microseconds only when there are some.</summary>
    private static string PythonTimestamp(DateTime value) =>
        value.ToString(value.Ticks % TimeSpan.TicksPerSecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss'+00:00'" : "yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'", CultureInfo.InvariantCulture);
}
