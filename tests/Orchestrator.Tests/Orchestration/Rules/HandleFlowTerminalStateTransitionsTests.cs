using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Orchestration.Rules;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;
using static Orchestrator.Tests.Infrastructure.Scenarios;

namespace Orchestrator.Tests.Orchestration.Rules;

/// <summary>HandleFlowTerminalStateTransitions (MANUAL, TERM): finished flow runs are protected, except manual restarts of deployments.</summary>
public abstract class HandleFlowTerminalStateTransitionsTests(DatabaseKind database)
{
    private async Task<Guid> FailedFlowRunAsync(TestApp app, bool withDeployment, int runCount, int? retries = null)
    {
        Guid flowId = await app.CreateFlowAsync($"flow-{Guid.NewGuid():N}");
        Guid? deploymentId = withDeployment
            ? IdOf((await app.PostAsync("/api/deployments/", new { name = "d", flow_id = flowId })).Body)
            : null;
        var run = await app.CreateFlowRunAsync(flowId, state: new { type = "FAILED" },
            extra: new { deployment_id = deploymentId, empirical_policy = new { retries } });
        await app.UpdateFlowRunAsync(IdOf(run), r => r.RunCount = runCount);
        return IdOf(run);
    }

    [Fact]
    public async Task MANUAL_01_RestartWithAnotherName_IsAborted()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await FailedFlowRunAsync(app, withDeployment: true, runCount: 2);

        var (status, result) = await app.SetFlowRunStateAsync(id, Scheduled(DateTime.UtcNow, "NotAwaitingRetry"));

        status.Should().Be(200);
        result.Str("status").Should().Be("ABORT");
        result!["details"].Str("reason").Should().Be("This run has already terminated.");
        (await app.FlowRunAsync(id)).RunCount.Should().Be(2);
    }

    [Fact]
    public async Task MANUAL_02_RestartWithoutDeployment_IsAborted()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await FailedFlowRunAsync(app, withDeployment: false, runCount: 2);

        var (_, result) = await app.SetFlowRunStateAsync(id, Scheduled(DateTime.UtcNow, "AwaitingRetry"));

        result.Str("status").Should().Be("ABORT");
        result!["details"].Str("reason").Should().Be("Cannot restart a run without an associated deployment.");
        (await app.FlowRunAsync(id)).RunCount.Should().Be(2);
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(10, 3)]
    public async Task MANUAL_03_04_RestartWithDeployment_IsAcceptedAndKeepsRunCount(int retries, int runCount)
    {
        await using var app = await TestApp.StartAsync(database);
        Guid id = await FailedFlowRunAsync(app, withDeployment: true, runCount: runCount, retries: retries);

        var (status, result) = await app.SetFlowRunStateAsync(id, Scheduled(DateTime.UtcNow, "AwaitingRetry"));

        status.Should().Be(201);
        result.Str("status").Should().Be("ACCEPT");
        (await app.FlowRunAsync(id)).RunCount.Should().Be(runCount);
    }

    [Fact]
    public async Task MANUAL_05_AnyTerminalRunWithDeployment_CanBeRestarted()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowId = await app.CreateFlowAsync();
        Guid deploymentId = IdOf((await app.PostAsync("/api/deployments/", new { name = "d", flow_id = flowId })).Body);
        foreach (string terminal in new[] { "COMPLETED", "CANCELLED", "CRASHED" })
        {
            Guid id = IdOf(await app.CreateFlowRunAsync(flowId, state: new { type = "RUNNING" }, extra: new { deployment_id = deploymentId }));
            await app.SetFlowRunStateAsync(id, new { type = terminal });
            string retryAt = Iso(DateTime.UtcNow.AddMinutes(1));

            var (_, result) = await app.SetFlowRunStateAsync(id, new { type = "SCHEDULED", name = "AwaitingRetry", state_details = new { scheduled_time = retryAt } });
            var run = await app.ReadAsync("flow", id);

            result.Str("status").Should().Be("ACCEPT", terminal);
            run["end_time"].Should().BeNull();
            run.Str("next_scheduled_start_time").Should().Be(retryAt);
        }
    }

    [Theory]
    [MemberData(nameof(TerminalProtection.TerminalToAny), MemberType = typeof(TerminalProtection))]
    public async Task TERM_01_03_TerminalFlowRuns_AbortEveryProposal_UnlessForced(StateType initial, StateType proposed)
    {
        await using var app = await TestApp.StartAsync(database);
        await TerminalProtection.AbortsEveryProposalUnlessForcedAsync(app, "flow", () => new HandleFlowTerminalStateTransitions(), initial, proposed);
    }

    [Theory]
    [MemberData(nameof(TerminalProtection.NonTerminalToAny), MemberType = typeof(TerminalProtection))]
    public async Task TERM_02_NonTerminalFlowRuns_AreNotProtected(StateType? initial, StateType proposed)
    {
        await using var app = await TestApp.StartAsync(database);
        await TerminalProtection.DoesNotProtectAsync(app, "flow", () => new HandleFlowTerminalStateTransitions(), initial, proposed);
    }
}

public sealed class HandleFlowTerminalStateTransitionsTestsOnSqlite() : HandleFlowTerminalStateTransitionsTests(DatabaseKind.Sqlite);

public sealed class HandleFlowTerminalStateTransitionsTestsOnPostgres() : HandleFlowTerminalStateTransitionsTests(DatabaseKind.Postgres);
