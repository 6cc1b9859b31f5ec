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

    /// <summary>Moves the clock to <paramref name="time"/> unless it is already later: time never runs back.</summary>
    public void MoveTo(DateTime time)
    {
        long current;
        do
        {
            current = Interlocked.Read(ref _ticks);
            if (time.Ticks <= current)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _ticks, time.Ticks, current) != current);
    }
}
