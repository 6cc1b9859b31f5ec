namespace Orchestrator.Orchestration;

/// <summary>How a task told to WAIT for a full concurrency limit is told to come back.</summary>
public enum SlotWaitMode
{
    /// <summary>About when a slot should free, from how long the limit's slots have been held (the default).</summary>
    Adaptive,

    /// <summary>Always <see cref="OrchestrationOptions.ConcurrencyLimitWaitSeconds"/> (plus jitter), as Prefect 2.7.0 (30 s).</summary>
    Fixed,
}

/// <summary>Settings of the engine, bound from the <c>Orchestration</c> configuration section.</summary>
public sealed class OrchestrationOptions
{
    public const string Section = "Orchestration";

    public SlotWaitMode ConcurrencyLimitWait { get; set; } = SlotWaitMode.Adaptive;

    /// <summary>
    /// Decision D5: the longest a task told to WAIT for a full concurrency limit waits (Prefect: always
    /// 30 s). Adaptive waits are usually shorter; fixed ones are exactly this.
    /// </summary>
    public int ConcurrencyLimitWaitSeconds { get; set; } = 30;

    /// <summary>With fixed waits, up to this many seconds are added at random, so waiting tasks do not retry in lockstep.</summary>
    public int ConcurrencyLimitWaitJitterSeconds { get; set; }

    /// <summary>
    /// A slot whose task run, flow run and their logs show no sign of life for this long is taken back by
    /// the reaper and the task run CRASHED. A day: a 2.7 client sends no heartbeats, so a long task that
    /// neither logs nor has busy siblings looks idle, and must not lose its slot.
    /// </summary>
    public int SlotLeaseSeconds { get; set; } = 86_400;

    /// <summary>How often the reaper looks for slots to take back; 0 turns it off.</summary>
    public int ReaperIntervalSeconds { get; set; } = 30;
}
