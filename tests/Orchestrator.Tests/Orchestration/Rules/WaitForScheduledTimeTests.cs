using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Orchestration.Rules;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;
using static Orchestrator.Tests.Infrastructure.Scenarios;

namespace Orchestrator.Tests.Orchestration.Rules;

/// <summary>WaitForScheduledTime (test-scenarios.md D, WFS): scheduled runs wait until their time.</summary>
public abstract class WaitForScheduledTimeTests(DatabaseKind database)
{
    [Fact]
    public async Task WFS_01_02_ScheduledRun_WaitsUntilItsTime()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (string kind in Kinds)
        {
            Guid past = await app.RunInStateAsync(kind, Scheduled(DateTime.UtcNow.AddMinutes(-5)));
            Guid future = await app.RunInStateAsync(kind, Scheduled(DateTime.UtcNow.AddMinutes(5)));

            var (acceptStatus, accepted) = await app.SetStateAsync(kind, past, new { type = "RUNNING" });
            var (waitStatus, waited) = await app.SetStateAsync(kind, future, new { type = "RUNNING" });

            acceptStatus.Should().Be(201);
            accepted.Str("status").Should().Be("ACCEPT");
            accepted!["state"].Str("type").Should().Be("RUNNING");
            waitStatus.Should().Be(200);
            waited.Str("status").Should().Be("WAIT");
            waited!["state"].Should().BeNull();
            waited["details"]!["delay_seconds"]!.GetValue<int>().Should().BeInRange(298, 300);
            waited["details"].Str("reason").Should().Be("Scheduled time is in the future");
            waited["details"].Str("type").Should().Be("wait_details");
        }
    }

    [Fact]
    public void WFS_03_PendingToRunning_DoesNotCompileTheWaitRule()
    {
        Orchestrator.Orchestration.Policies.CoreFlowPolicy.Instance.CompileTransitionRules(StateType.Pending, StateType.Running)
            .Select(r => r.Name).Should().NotContain(nameof(WaitForScheduledTime));
    }

    [Fact]
    public async Task WFS_04_FutureScheduledRun_WaitsForEveryTarget_UnlessForced()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (string kind in Kinds)
        {
            foreach (string target in new[] { "PENDING", "CANCELLED", "FAILED", "CRASHED", "COMPLETED", "PAUSED" })
            {
                Guid id = await app.RunInStateAsync(kind, Scheduled(DateTime.UtcNow.AddMinutes(5)));
                (await app.SetStateAsync(kind, id, new { type = target })).Body.Str("status").Should().Be("WAIT", $"{kind} -> {target}");
                (await app.SetStateAsync(kind, id, new { type = target }, force: true)).Body.Str("status").Should().Be("ACCEPT");
            }
        }
    }

    [Fact]
    public async Task WFS_05_LessThanAWholeSecondEarly_IsAccepted()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        Guid id = await app.RunInStateAsync("task", Scheduled(clock.UtcNow.AddSeconds(0.5)));

        (await app.SetTaskRunStateAsync(id, new { type = "RUNNING" })).Body.Str("status").Should().Be("ACCEPT");
    }

    [Fact]
    public async Task WFS_06_FutureScheduledToScheduled_IsAbortedAsRedundant()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await app.RunInStateAsync("flow", Scheduled(DateTime.UtcNow.AddMinutes(5)));

        (await app.SetFlowRunStateAsync(id, Scheduled(DateTime.UtcNow.AddMinutes(10)))).Body.Str("status").Should().Be("ABORT");
    }
}

public sealed class WaitForScheduledTimeTestsOnSqlite() : WaitForScheduledTimeTests(DatabaseKind.Sqlite);

public sealed class WaitForScheduledTimeTestsOnPostgres() : WaitForScheduledTimeTests(DatabaseKind.Postgres);
