namespace Orchestrator.Orchestration.Services;

/// <summary>
/// The background services' settings, one object each under the <c>Services</c> configuration section
/// (<c>Services:Scheduler:LoopSeconds</c>, …). Defaults are Prefect 2.7.0's.
/// </summary>
public sealed class ServiceOptions
{
    public const string Section = "Services";

    public SchedulerOptions Scheduler { get; set; } = new();

    public LateRunsOptions LateRuns { get; set; } = new();

    public NotificationsOptions Notifications { get; set; } = new();
}

/// <summary>The scheduler: creates each active deployment's upcoming runs.</summary>
public sealed class SchedulerOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>How often every deployment is checked for too few upcoming runs.</summary>
    public double LoopSeconds { get; set; } = 60;

    /// <summary>How often deployments created or changed in the last moments get their runs (2.7.0: 5 s, fixed).</summary>
    public double RecentLoopSeconds { get; set; } = 5;

    public int DeploymentBatchSize { get; set; } = 100;

    public int MinRuns { get; set; } = 3;

    public int MaxRuns { get; set; } = 100;

    public double MinScheduledTimeSeconds { get; set; } = 3600;

    public double MaxScheduledTimeSeconds { get; set; } = 100 * 86400;

    public TimeSpan MinScheduledTime => TimeSpan.FromSeconds(MinScheduledTimeSeconds);

    public TimeSpan MaxScheduledTime => TimeSpan.FromSeconds(MaxScheduledTimeSeconds);
}

/// <summary>The late-runs service: marks runs still SCHEDULED this long after their time "Late".</summary>
public sealed class LateRunsOptions
{
    public bool Enabled { get; set; } = true;

    public double LoopSeconds { get; set; } = 5;

    public double AfterSeconds { get; set; } = 5;

    public int BatchSize { get; set; } = 400;
}

/// <summary>The flow-run notifications service: sends what notification policies queued.</summary>
public sealed class NotificationsOptions
{
    public bool Enabled { get; set; } = true;

    public double LoopSeconds { get; set; } = 4;

    /// <summary>A delivery that keeps failing is given up (and logged as an error) after this many attempts.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The wait after the first failed attempt; it doubles with each further one.</summary>
    public double RetryDelaySeconds { get; set; } = 10;

    /// <summary>Where the UI is, for <c>{flow_run_url}</c>; without one 2.7.0 writes <c>http://ephemeral-orion/api</c>.</summary>
    public string? UiUrl { get; set; }
}
