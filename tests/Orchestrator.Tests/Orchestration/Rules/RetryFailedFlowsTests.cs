using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Orchestration.Rules;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;
using static Orchestrator.Tests.Infrastructure.Scenarios;

namespace Orchestrator.Tests.Orchestration.Rules;

/// <summary>RetryFailedFlows (FRETRY): failed flow runs with retries left are rescheduled.</summary>
public abstract class RetryFailedFlowsTests(DatabaseKind database)
{
    [Fact]
    public async Task FRETRY_01_02_FailedFlow_IsRetriedWhileRunCountIsWithinRetries()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid retried = await app.RunInStateAsync("flow", new { type = "RUNNING" }, new { empirical_policy = new { retries = 1 } });
        Guid exhausted = await app.RunInStateAsync("flow", new { type = "RUNNING" }, new { empirical_policy = new { retries = 1 } });
        await app.UpdateFlowRunAsync(exhausted, r => r.RunCount = 2);

        var (status, result) = await app.SetFlowRunStateAsync(retried, new { type = "FAILED" });
        var (_, accepted) = await app.SetFlowRunStateAsync(exhausted, new { type = "FAILED" });

        status.Should().Be(201);
        result.Str("status").Should().Be("REJECT");
        result!["state"].Str("type").Should().Be("SCHEDULED");
        result["state"].Str("name").Should().Be("AwaitingRetry");
        accepted.Str("status").Should().Be("ACCEPT");
        accepted!["state"].Str("type").Should().Be("FAILED");
    }

    [Fact]
    public async Task FRETRY_03_Retry_UsesTheDelayAndKeepsTheFailuresMessageAndData()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        Guid id = await app.RunInStateAsync("flow", new { type = "RUNNING" }, new { empirical_policy = new { retries = 1, retry_delay = 10 } });
        Guid noRetries = await app.RunInStateAsync("flow", new { type = "RUNNING" });

        var (_, result) = await app.SetFlowRunStateAsync(id, new { type = "FAILED", message = "it broke", data = new { error = "x" } });
        var (_, plain) = await app.SetFlowRunStateAsync(noRetries, new { type = "FAILED" });

        result!["details"].Str("reason").Should().Be("Retrying");
        result["state"].Str("message").Should().Be("it broke");
        result["state"]!["data"]!.ToJsonString().Should().Be("{\"error\":\"x\"}");
        DateTime scheduled = DateTime.Parse(result["state"]!["state_details"].Str("scheduled_time")!).ToUniversalTime();
        scheduled.Should().BeCloseTo(clock.UtcNow.AddSeconds(10), TimeSpan.FromMilliseconds(1));
        plain.Str("status").Should().Be("ACCEPT");
    }

    [Theory]
    [InlineData("0.8.2", true)]
    [InlineData("0.8.3", false)]
    [InlineData(null, false)]
    public async Task FRETRY_04_LegacyClients_GetTheirFailedTaskRunsRescheduled(string? version, bool legacy)
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowRun = await app.RunInStateAsync("flow", new { type = "RUNNING" }, new { empirical_policy = new { retries = 1 } });
        Guid failed1 = IdOf(await app.CreateTaskRunAsync(flowRun, state: new { type = "FAILED" }, taskKey: "a"));
        Guid failed2 = IdOf(await app.CreateTaskRunAsync(flowRun, state: new { type = "FAILED" }, taskKey: "b"));
        Guid completed = IdOf(await app.CreateTaskRunAsync(flowRun, state: new { type = "COMPLETED" }, taskKey: "c"));
        foreach (Guid id in new[] { failed1, failed2 })
        {
            await app.UpdateTaskRunAsync(id, r => r.RunCount = 3);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/flow_runs/{flowRun}/set_state")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { state = new { type = "FAILED" } }),
        };
        if (version is not null)
        {
            request.Headers.Add("X-PREFECT-API-VERSION", version);
        }

        using var response = await app.Client.SendAsync(request);
        var one = await app.ReadAsync("task", failed1);
        var two = await app.ReadAsync("task", failed2);
        var done = await app.ReadAsync("task", completed);

        ((int)response.StatusCode).Should().Be(201);
        if (legacy)
        {
            one.Str("state_name").Should().Be("AwaitingRetry");
            two.Str("state_name").Should().Be("AwaitingRetry");
            one["state"]!["state_details"].Str("scheduled_time").Should().Be(two["state"]!["state_details"].Str("scheduled_time"));
            one["run_count"]!.GetValue<int>().Should().Be(0);
            two["run_count"]!.GetValue<int>().Should().Be(0);
        }
        else
        {
            one.Str("state_type").Should().Be("FAILED");
            one["run_count"]!.GetValue<int>().Should().Be(3);
        }

        done.Str("state_type").Should().Be("COMPLETED");
    }

    [Fact]
    public async Task FRETRY_05_FullRetryCycle_WaitsThenRunsAgainWithoutRenaming()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        Guid id = await app.RunInStateAsync("flow", new { type = "RUNNING" }, new { empirical_policy = new { retries = 1, retry_delay = 30 } });

        var (_, rejected) = await app.SetFlowRunStateAsync(id, new { type = "FAILED" });
        var (_, early) = await app.SetFlowRunStateAsync(id, new { type = "RUNNING" });
        clock.Advance(TimeSpan.FromSeconds(31));
        var (_, rerun) = await app.SetFlowRunStateAsync(id, new { type = "RUNNING" });

        rejected.Str("status").Should().Be("REJECT");
        early.Str("status").Should().Be("WAIT");
        rerun.Str("status").Should().Be("ACCEPT");
        rerun!["state"].Str("name").Should().Be("Running");
        (await app.ReadAsync("flow", id))["run_count"]!.GetValue<int>().Should().Be(2);
    }
}

public sealed class RetryFailedFlowsTestsOnSqlite() : RetryFailedFlowsTests(DatabaseKind.Sqlite);

public sealed class RetryFailedFlowsTestsOnPostgres() : RetryFailedFlowsTests(DatabaseKind.Postgres);
