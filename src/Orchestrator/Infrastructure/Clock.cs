namespace Orchestrator.Infrastructure;

public static class Clock
{
    /// <summary>
    /// PostgreSQL keeps microseconds; truncating every server-made time to them means a value reads back
    /// exactly as it was written on both databases.
    /// </summary>
    public static DateTime TruncateToMicroseconds(DateTime value) =>
        new(value.Ticks - value.Ticks % 10, DateTimeKind.Utc);

    public static DateTime UtcNow(this TimeProvider time) => TruncateToMicroseconds(time.GetUtcNow().UtcDateTime);
}
