namespace Orchestrator.Data;

/// <summary>Which flow-run states are announced, to which notification block, with which message.</summary>
public sealed class FlowRunNotificationPolicy
{
    public Guid Id { get; set; }
    public DateTime Created { get; set; }
    public DateTime Updated { get; set; }
    public bool IsActive { get; set; } = true;

    /// <summary>The state names that trigger it; empty is every state.</summary>
    public List<string> StateNames { get; set; } = [];

    /// <summary>Runs with at least one of these tags trigger it; empty is every run.</summary>
    public List<string> Tags { get; set; } = [];

    public Guid BlockDocumentId { get; set; }
    public string? MessageTemplate { get; set; }
}

/// <summary>
/// A notification waiting to be sent: written in the transaction of the state change that triggered it,
/// so a state that was committed is announced and one that was rolled back is not.
/// </summary>
public sealed class FlowRunNotification
{
    public Guid Id { get; set; }
    public DateTime Created { get; set; }
    public Guid FlowRunNotificationPolicyId { get; set; }
    public Guid FlowRunStateId { get; set; }

    /// <summary>Failed deliveries so far; a delivery is retried until it succeeds or runs out of attempts.</summary>
    public int Attempts { get; set; }

    /// <summary>Not to be sent before this instant (the back-off after a failed delivery).</summary>
    public DateTime NextAttempt { get; set; }
}
