namespace Orchestrator.Orchestration;

/// <summary>
/// The WAIT a task gets when a concurrency limit is full: a whole number of seconds (the 2.7 client
/// sleeps <c>delay_seconds</c> and proposes again) chosen so it comes back just after the first slot is
/// expected to free, rather than a fixed 30 s later.
/// </summary>
public static class SlotWait
{
    /// <param name="acquired">When each holder of a slot took it (its RUNNING state's time).</param>
    /// <param name="meanSlotSeconds">How long the limit's slots were held on average recently; null before the first release.</param>
    /// <param name="limit">The limit's size; with the mean it gives the average time between two slots freeing.</param>
    public static int Seconds(IReadOnlyCollection<DateTime> acquired, double? meanSlotSeconds, int limit, DateTime now, int maxSeconds, Random random)
    {
        int max = Math.Max(1, maxSeconds);
        if (acquired.Count == 0)
        {
            return 1;
        }

        // Per holder, how long until it should let go: the rest of the mean while it is younger than the
        // mean. One past the mean is late by some amount, and is expected to be about that much later
        // again (a holder just past it is told a second). Before any history, a fraction of the holder's
        // age: waiters look often while holders are young and less often the longer they hold.
        double soonest = acquired.Min(taken =>
        {
            double elapsed = Math.Max(0, (now - taken).TotalSeconds);
            return meanSlotSeconds switch
            {
                { } mean when elapsed < mean => mean - elapsed,
                { } mean => elapsed - mean,
                null => elapsed / 8,
            };
        });

        // Rounded up: coming back a little after the slot frees costs a fraction of a second; a little
        // before costs another whole WAIT.
        double seconds = Math.Ceiling(soonest);

        // Waiters spread over one average gap between two slots freeing, so many waiters do not all
        // arrive in the same second for the one slot that frees then.
        if (meanSlotSeconds is { } m && limit > 0)
        {
            seconds += random.Next((int)Math.Min(max, Math.Floor(m / limit)) + 1);
        }

        return (int)Math.Clamp(seconds, 1, max);
    }
}
