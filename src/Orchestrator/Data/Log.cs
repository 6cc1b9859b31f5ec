namespace Orchestrator.Data;

/// <summary>
/// One log line a client shipped for a flow or task run. Logs reference runs loosely (no foreign key):
/// they arrive in batches after the fact and outlive deleted runs, as in Prefect.
/// </summary>
public sealed class Log
{
    public Guid Id { get; set; }
    public DateTime Created { get; set; }
    public DateTime Updated { get; set; }
    public string Name { get; set; } = "";
    public int Level { get; set; }
    public string Message { get; set; } = "";
    public DateTime Timestamp { get; set; }
    public Guid? FlowRunId { get; set; }
    public Guid? TaskRunId { get; set; }
}
