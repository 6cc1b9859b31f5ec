namespace Orchestrator.Infrastructure;

public static class Ids
{
    /// <summary>
    /// A new row id. Time-ordered (UUID version 7) rather than random, so new rows land at the end of the
    /// primary-key and foreign-key indexes instead of on a random page of a large index: with a million
    /// stored task runs, random ids made every insert touch (and, after a checkpoint, log) a cold page.
    /// Clients see an ordinary UUID.
    /// </summary>
    public static Guid New() => Guid.CreateVersion7();
}
