using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.LoadGenerator;

Options options;
try
{
    options = Options.Parse(args);
}
catch (Exception error) when (error is ArgumentException or FormatException)
{
    Console.Error.WriteLine(error.Message);
    Console.Error.WriteLine(Options.Usage);
    return 2;
}

using var http = new HttpClient(new SocketsHttpHandler
{
    MaxConnectionsPerServer = options.Clients,
    PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
})
{
    BaseAddress = new Uri(options.Url, "/api/"),
    Timeout = TimeSpan.FromSeconds(60),
};
http.DefaultRequestHeaders.Add("X-PREFECT-API-VERSION", "0.8.3");

var flow = await Post(http, "flows/", new { name = "load-generator" });
var flowRun = await Post(http, "flow_runs/", new { flow_id = flow["id"]!.GetValue<string>(), state = new { type = "RUNNING" } });
string flowRunId = flowRun["id"]!.GetValue<string>();

object result;
if (options.DrainTasks > 0)
{
    var drain = await new DrainRun(http, flowRunId, options).ExecuteAsync();
    Console.WriteLine(drain.Describe());
    result = drain;
}
else
{
    var load = await new LoadRun(http, flowRunId, options).ExecuteAsync();
    Console.WriteLine(load.Describe());
    result = load;
}

if (options.JsonPath is { } path)
{
    await File.WriteAllTextAsync(path, JsonSerializer.Serialize(result, result.GetType(), new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
}

return 0;

static async Task<JsonNode> Post(HttpClient http, string path, object body)
{
    using var response = await http.PostAsync(path, LoadRun.JsonBody(body));
    response.EnsureSuccessStatusCode();
    return (await response.Content.ReadFromJsonAsync<JsonNode>())!;
}

namespace Orchestrator.LoadGenerator
{
    /// <summary>The three calls of a task run's life, as the Prefect client makes them.</summary>
    public enum CallKind
    {
        CreateTaskRun,
        ProposeRunning,
        ProposeCompleted,
    }

    /// <summary>N clients looping over task-run lifecycles; only calls started after the warm-up count.</summary>
    public sealed class LoadRun(HttpClient http, string flowRunId, Options options)
    {
        private readonly List<double>[] _latencies = [[], [], []];
        private readonly object _gate = new();
        private long _errors;
        private long _lifecycles;
        private readonly List<string> _errorSamples = [];

        public async Task<LoadResult> ExecuteAsync()
        {
            var measureFrom = Stopwatch.GetTimestamp() + (long)(options.Warmup.TotalSeconds * Stopwatch.Frequency);
            var measureUntil = measureFrom + (long)(options.Duration.TotalSeconds * Stopwatch.Frequency);
            var clients = Enumerable.Range(0, options.Clients).Select(c => Task.Run(() => ClientLoop(c, measureFrom, measureUntil))).ToList();

            await WaitUntil(measureFrom);
            TimeSpan cpuBefore = options.ServerPid is { } pid ? ServerProcessStats.CpuTime(pid) : TimeSpan.Zero;
            var memory = new List<double>();
            var sampler = Task.Run(async () =>
            {
                while (Stopwatch.GetTimestamp() < measureUntil && options.ServerPid is { } p)
                {
                    memory.Add(ServerProcessStats.ResidentMegabytes(p));
                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(5, Math.Max(1, options.Duration.TotalSeconds / 20))));
                }
            });
            await WaitUntil(measureUntil);
            TimeSpan cpuAfter = options.ServerPid is { } pid2 ? ServerProcessStats.CpuTime(pid2) : TimeSpan.Zero;
            await Task.WhenAll(clients);
            await sampler;

            int requests = _latencies.Sum(l => l.Count);
            double seconds = options.Duration.TotalSeconds;
            return new LoadResult(
                options.Label,
                options.Clients,
                seconds,
                requests / seconds,
                (_latencies[1].Count + _latencies[2].Count) / seconds,
                _lifecycles / seconds,
                _errors,
                _errorSamples.Take(5).ToList(),
                Enum.GetValues<CallKind>().ToDictionary(k => k.ToString(), k => Percentiles.Of(_latencies[(int)k])),
                options.ServerPid is null || requests == 0 ? null : (cpuAfter - cpuBefore).TotalMilliseconds / requests,
                memory.Count == 0 ? null : new MemoryProfile(memory[0], memory[^1], memory.Max()));
        }

        private async Task ClientLoop(int client, long measureFrom, long measureUntil)
        {
            var mine = new List<double>[] { [], [], [] };
            long lifecycles = 0;
            for (int n = 0; Stopwatch.GetTimestamp() < measureUntil; n++)
            {
                bool measured = Stopwatch.GetTimestamp() >= measureFrom;
                var task = await Call(CallKind.CreateTaskRun, "task_runs/", new
                {
                    flow_run_id = flowRunId,
                    task_key = "load.task",
                    dynamic_key = $"{client}-{n}-{Guid.NewGuid():N}",
                    state = new { type = "PENDING" },
                }, measured, mine);
                if (task?["id"]?.GetValue<string>() is not { } id)
                {
                    continue;
                }

                var running = await Call(CallKind.ProposeRunning, $"task_runs/{id}/set_state", new { state = new { type = "RUNNING" } }, measured, mine);
                if (running is null)
                {
                    continue;
                }

                var completed = await Call(CallKind.ProposeCompleted, $"task_runs/{id}/set_state", new { state = new { type = "COMPLETED" } }, measured, mine);
                if (completed is not null && measured)
                {
                    lifecycles++;
                }
            }

            lock (_gate)
            {
                for (int k = 0; k < 3; k++)
                {
                    _latencies[k].AddRange(mine[k]);
                }

                _lifecycles += lifecycles;
            }
        }

        /// <summary>
        /// A request body with its length, as the Prefect client (httpx) sends it; a streamed JSON body
        /// would go out in chunked encoding, which no Prefect client uses.
        /// </summary>
        public static HttpContent JsonBody(object body) =>
            new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body)) { Headers = { ContentType = new("application/json") } };

        /// <summary>One call; null when it failed (an HTTP error, or a set_state that was not ACCEPT).</summary>
        private async Task<JsonNode?> Call(CallKind kind, string path, object body, bool measured, List<double>[] latencies)
        {
            long start = Stopwatch.GetTimestamp();
            string? failure = null;
            JsonNode? answer = null;
            try
            {
                using var response = await http.PostAsync(path, JsonBody(body));
                string text = await response.Content.ReadAsStringAsync();
                answer = text.Length > 0 ? JsonNode.Parse(text) : null;
                if (!response.IsSuccessStatusCode)
                {
                    failure = $"{kind}: HTTP {(int)response.StatusCode} {Truncate(text)}";
                }
                else if (kind != CallKind.CreateTaskRun && answer?["status"]?.GetValue<string>() != "ACCEPT")
                {
                    failure = $"{kind}: {Truncate(text)}";
                }
            }
            catch (Exception error) when (error is HttpRequestException or TaskCanceledException or JsonException)
            {
                failure = $"{kind}: {error.GetType().Name} {error.Message}";
            }

            if (measured)
            {
                latencies[(int)kind].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                if (failure is not null)
                {
                    Interlocked.Increment(ref _errors);
                    lock (_gate)
                    {
                        if (_errorSamples.Count < 20)
                        {
                            _errorSamples.Add(failure);
                        }
                    }
                }
            }

            return failure is null ? answer : null;
        }

        private static string Truncate(string text) => text.Length > 200 ? text[..200] : text;

        private static async Task WaitUntil(long timestamp)
        {
            while (Stopwatch.GetTimestamp() < timestamp)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(1, Math.Min(200, (timestamp - Stopwatch.GetTimestamp()) * 1000.0 / Stopwatch.Frequency))));
            }
        }
    }

    public sealed record Percentiles(int Count, double P50, double P90, double P99, double Max)
    {
        public static Percentiles Of(List<double> samples)
        {
            if (samples.Count == 0)
            {
                return new Percentiles(0, 0, 0, 0, 0);
            }

            var sorted = samples.Order().ToArray();
            double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
            return new Percentiles(sorted.Length, At(0.50), At(0.90), At(0.99), sorted[^1]);
        }
    }

    public sealed record MemoryProfile(double FirstMegabytes, double LastMegabytes, double MaxMegabytes);

    public sealed record LoadResult(
        string Label,
        int Clients,
        double Seconds,
        double RequestsPerSecond,
        double SetStatePerSecond,
        double LifecyclesPerSecond,
        long Errors,
        List<string> ErrorSamples,
        Dictionary<string, Percentiles> LatencyMs,
        double? ServerCpuMsPerRequest,
        MemoryProfile? ServerMemory)
    {
        public string Describe()
        {
            var text = new System.Text.StringBuilder();
            var c = CultureInfo.InvariantCulture;
            text.AppendLine(c, $"{Label}: {Clients} clients, {Seconds:0} s measured");
            text.AppendLine(c, $"  set_state/s {SetStatePerSecond:0.0}   lifecycles/s {LifecyclesPerSecond:0.0}   requests/s {RequestsPerSecond:0.0}   errors {Errors}");
            foreach (var (kind, p) in LatencyMs)
            {
                text.AppendLine(c, $"  {kind,-17} n={p.Count,-7} p50 {p.P50,7:0.00} ms  p90 {p.P90,7:0.00} ms  p99 {p.P99,7:0.00} ms  max {p.Max,8:0.00} ms");
            }

            if (ServerCpuMsPerRequest is { } cpu)
            {
                text.AppendLine(c, $"  server CPU {cpu:0.000} ms per request");
            }

            if (ServerMemory is { } m)
            {
                text.AppendLine(c, $"  server memory {m.FirstMegabytes:0} MB at start, {m.LastMegabytes:0} MB at end, {m.MaxMegabytes:0} MB max");
            }

            foreach (string sample in ErrorSamples)
            {
                text.AppendLine(c, $"  error: {sample}");
            }

            return text.ToString();
        }
    }
}
