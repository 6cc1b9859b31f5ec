namespace Orchestrator.Tests.Infrastructure;

/// <summary>A clock tests move by hand, so scheduled times and delays are tested without sleeping.</summary>
public sealed class ManualClock(DateTime start) : TimeProvider
{
    private long _ticks = start.Ticks;

    public ManualClock()
        : this(new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc))
    {
    }

    public DateTime UtcNow => new(Interlocked.Read(ref _ticks), DateTimeKind.Utc);

    public override DateTimeOffset GetUtcNow() => new(UtcNow);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
