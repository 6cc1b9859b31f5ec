namespace Orchestrator.Orchestration.Services;

/// <summary>
/// A background service that does one cycle of work at start-up and then every interval, measured from
/// the start of the previous cycle, on the injected clock. A cycle that fails is logged and the loop goes
/// on; a cycle that did something logs one line. Tests call <see cref="RunCycleAsync"/> directly.
/// </summary>
public abstract class LoopService(TimeProvider time, ILogger logger) : BackgroundService
{
    protected TimeProvider Time { get; } = time;

    protected ILogger Logger { get; } = logger;

    protected abstract bool Enabled { get; }

    protected abstract TimeSpan Interval { get; }

    /// <summary>One cycle; returns what it did, for the log line (0 or less: nothing).</summary>
    public abstract Task<int> RunCycleAsync(CancellationToken cancellationToken);

    protected abstract string Describe(int done);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            Logger.LogInformation("{Service} is disabled", GetType().Name);
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            DateTimeOffset started = Time.GetUtcNow();
            var service = new KeyValuePair<string, object?>("service", GetType().Name);
            try
            {
                int done = await RunCycleAsync(stoppingToken);
                OrchestrationTelemetry.ServiceCycles.Add(1, service, new("result", "ok"));
                if (done > 0)
                {
                    OrchestrationTelemetry.ServiceWork.Add(done, service);
                    Logger.LogInformation("{Service}: {Done} in {ElapsedMs:0} ms", GetType().Name, Describe(done), (Time.GetUtcNow() - started).TotalMilliseconds);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                OrchestrationTelemetry.ServiceCycles.Add(1, service, new("result", "failed"));
                Logger.LogError(error, "{Service}: a cycle failed; the next one runs as planned", GetType().Name);
            }

            TimeSpan wait = started + Interval - Time.GetUtcNow();
            try
            {
                await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, Time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
