using System.Diagnostics;
using System.Text.RegularExpressions;
using Orchestrator.Orchestration;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Api;

/// <summary>The servers of these tests serve metrics; they run one at a time (see TestApp).</summary>
[CollectionDefinition(nameof(MetricsCollection), DisableParallelization = true)]
public sealed class MetricsCollection;

public abstract partial class ObservabilityTests(DatabaseKind database)
{
    private static readonly Dictionary<string, string?> WithMetrics = new() { ["Telemetry:Prometheus"] = "true", ["Telemetry:DatabaseGaugeSeconds"] = "0" };

    [GeneratedRegex("""^orchestrator_transitions_total\{(?<labels>[^}]*)\} (?<value>[0-9.e+]+)""", RegexOptions.Multiline)]
    private static partial Regex TransitionCounter();

    /// <summary>The accepted task transitions counted so far (the counter is the process's: other tests add to it too).</summary>
    private static async Task<double> AcceptedTaskTransitionsAsync(TestApp app)
    {
        string metrics = await app.Client.GetStringAsync("/metrics");
        return TransitionCounter().Matches(metrics)
            .Where(m => m.Groups["labels"].Value.Contains("outcome=\"ACCEPT\"", StringComparison.Ordinal)
                && m.Groups["labels"].Value.Contains("run_kind=\"task\"", StringComparison.Ordinal))
            .Sum(m => double.Parse(m.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Metrics_CountTransitions_AndShowSlotsAndFlowRunsPerState()
    {
        await using var app = await TestApp.StartAsync(database, settings: WithMetrics);
        string tag = $"metrics-{Guid.NewGuid():N}";
        await app.CreateLimitAsync(tag, 1);
        double before = await AcceptedTaskTransitionsAsync(app);
        Guid holder = IdOf(await app.CreateTaskRunAsync(extra: new { tags = new[] { tag } }));
        await app.SetTaskRunStateAsync(holder, new { type = "RUNNING" });
        Guid waiter = IdOf(await app.CreateTaskRunAsync(extra: new { tags = new[] { tag } }));
        await app.SetTaskRunStateAsync(waiter, new { type = "RUNNING" });
        await app.CreateFlowRunAsync(state: new { type = "SCHEDULED", name = "Late", state_details = new { scheduled_time = Iso(DateTime.UtcNow.AddMinutes(-5)) } });

        double after = await AcceptedTaskTransitionsAsync(app);
        string metrics = await app.Client.GetStringAsync("/metrics");

        after.Should().BeGreaterThanOrEqualTo(before + 1);
        metrics.Should().Contain($"tag=\"{tag}\"");
        Regex.IsMatch(metrics, $"orchestrator_slots_in_use\\{{[^}}]*tag=\"{tag}\"[^}}]*\\}} 1").Should().BeTrue();
        Regex.IsMatch(metrics, $"orchestrator_slots_waiters\\{{[^}}]*tag=\"{tag}\"[^}}]*\\}} 1").Should().BeTrue();
        Regex.IsMatch(metrics, "orchestrator_slot_waits_total\\{[^}]*tag=\"" + tag + "\"").Should().BeTrue();
        Regex.IsMatch(metrics, "orchestrator_rule_changes_total\\{[^}]*rule=\"SecureTaskConcurrencySlots\"").Should().BeTrue();
        // The one scheduled flow run of this database is the late one, counted apart from the on-time ones.
        Regex.IsMatch(metrics, "orchestrator_flow_runs\\{[^}]*state=\"LATE\"[^}]*\\} 1\n").Should().BeTrue();
        Regex.IsMatch(metrics, "orchestrator_flow_runs\\{[^}]*state=\"SCHEDULED\"[^}]*\\} 0\n").Should().BeTrue();
        metrics.Should().Contain("orchestrator_transition_duration").And.Contain("http_server_request_duration_seconds");
    }

    [Fact]
    public async Task MetricsCanBeTurnedOff()
    {
        await using var app = await TestApp.StartAsync(database, settings: new() { ["Telemetry:Prometheus"] = "false" });

        (await app.GetAsync("/metrics")).Status.Should().Be(404);
    }

    [Fact]
    public async Task ATransition_IsAnActivityOfTheRequestsTrace_WithTheRulesThatAppliedAsEvents()
    {
        var seen = new System.Collections.Concurrent.ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == OrchestrationTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = seen.Add,
        };
        ActivitySource.AddActivityListener(listener);
        await using var app = await TestApp.StartAsync(database);
        Guid task = IdOf(await app.CreateTaskRunAsync(state: new { type = "RUNNING" }, extra: new { empirical_policy = new { retries = 1, retry_delay = 0 } }));
        var traceId = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/task_runs/{task}/set_state")
        {
            Content = new StringContent("""{"state": {"type": "FAILED"}}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");

        using var response = await app.Client.SendAsync(request);

        var transition = seen.Single(a => a.GetTagItem("orchestrator.run.id") is Guid id && id == task && a.GetTagItem("orchestrator.state.proposed") as string == "FAILED");
        transition.TraceId.Should().Be(traceId, "the transition is part of the request's trace");
        transition.GetTagItem("orchestrator.outcome").Should().Be("REJECT");
        transition.GetTagItem("orchestrator.state.validated").Should().Be("SCHEDULED");
        transition.Events.Select(e => (e.Name, e.Tags.Single(t => t.Key == "orchestrator.rule.outcome").Value as string))
            .Should().Contain(("RetryFailedTasks", "rejected"));
    }

    [Fact]
    public async Task Readiness_ChecksTheDatabase_AndStaysOpenWithKeys()
    {
        await using var app = await TestApp.StartAsync(database, settings: new(WithMetrics)
        {
            ["Auth:ApiKeys:0:Sha256"] = Orchestrator.Api.Security.ApiKeyRing.Hash("k"),
            ["Auth:ApiKeys:0:Scope"] = "read",
        });

        using var ready = await app.Client.GetAsync("/health/ready");
        using var live = await app.Client.GetAsync("/health/live");
        using var metrics = await app.Client.GetAsync("/metrics");

        ((int)ready.StatusCode).Should().Be(200);
        (await ready.Content.ReadAsStringAsync()).Should().StartWith("Healthy.").And.Contain("/ui/");
        ((int)live.StatusCode).Should().Be(200);
        ((int)metrics.StatusCode).Should().Be(401, "metrics need the read scope once keys are configured");
    }
}

[Collection(nameof(MetricsCollection))]
public sealed class ObservabilityTestsOnSqlite() : ObservabilityTests(DatabaseKind.Sqlite);

[Collection(nameof(MetricsCollection))]
public sealed class ObservabilityTestsOnPostgres() : ObservabilityTests(DatabaseKind.Postgres);
