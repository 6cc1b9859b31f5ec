using System.Globalization;

namespace Orchestrator.LoadGenerator;

/// <summary>Command-line settings; every one has a default so a bare run works against a local server.</summary>
public sealed record Options(
    Uri Url, int Clients, TimeSpan Duration, TimeSpan Warmup, int? ServerPid, string? JsonPath, string Label,
    int DrainTasks = 0, TimeSpan TaskDuration = default, int Limit = 0)
{
    public const string Usage = """
        Drives an Orchestrator (or Prefect 2.7) server the way the Prefect client runs tasks: each client
        creates a task run in PENDING, proposes RUNNING, then COMPLETED, over and over.

          --url URL          server address (default http://127.0.0.1:4200)
          --clients N        concurrent clients (default 16)
          --duration S       measured seconds (default 20)
          --warmup S         unmeasured seconds first (default 5)
          --server-pid PID   the server's process, for its CPU time per request and its memory
          --json FILE        also write the results as JSON
          --label TEXT       a name for this run in the output

        Drain mode: N tasks that each run for a fixed time, all started at once, through one concurrency
        limit of k, each sleeping the WAIT's delay_seconds and proposing again as the 2.7 client does.
        Reports drain efficiency: the ideal time (N x duration / k) over the measured time.

          --drain N          tasks to drain (turns drain mode on)
          --task-seconds S   how long each task runs once admitted (default 5)
          --limit K          the concurrency limit (default 10)
        """;

    public static Options Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Unexpected argument '{args[i]}'.");
            }

            values[args[i][2..]] = args[++i];
        }

        string Get(string key, string fallback) => values.Remove(key, out string? v) ? v : fallback;
        var options = new Options(
            new Uri(Get("url", "http://127.0.0.1:4200")),
            int.Parse(Get("clients", "16"), CultureInfo.InvariantCulture),
            TimeSpan.FromSeconds(double.Parse(Get("duration", "20"), CultureInfo.InvariantCulture)),
            TimeSpan.FromSeconds(double.Parse(Get("warmup", "5"), CultureInfo.InvariantCulture)),
            values.ContainsKey("server-pid") ? int.Parse(Get("server-pid", "0"), CultureInfo.InvariantCulture) : null,
            values.ContainsKey("json") ? Get("json", "") : null,
            Get("label", "load"),
            int.Parse(Get("drain", "0"), CultureInfo.InvariantCulture),
            TimeSpan.FromSeconds(double.Parse(Get("task-seconds", "5"), CultureInfo.InvariantCulture)),
            int.Parse(Get("limit", "10"), CultureInfo.InvariantCulture));
        if (values.Count > 0)
        {
            throw new ArgumentException($"Unknown option --{values.Keys.First()}.");
        }

        return options;
    }
}
