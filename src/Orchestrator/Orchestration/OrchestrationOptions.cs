namespace Orchestrator.Orchestration;

/// <summary>Settings of the engine, bound from the <c>Orchestration</c> configuration section.</summary>
public sealed class OrchestrationOptions
{
    public const string Section = "Orchestration";

    /// <summary>Decision D5: how long a task told to WAIT for a full concurrency limit waits (Prefect: 30 s).</summary>
    public int ConcurrencyLimitWaitSeconds { get; set; } = 30;

    /// <summary>Up to this many seconds are added at random, so waiting tasks do not retry in lockstep.</summary>
    public int ConcurrencyLimitWaitJitterSeconds { get; set; }
}
