using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Orchestration.Rules;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;
using static Orchestrator.Tests.Infrastructure.Scenarios;

namespace Orchestrator.Tests.Orchestration.Rules;

/// <summary>PreventRedundantTransitions (REDUND): a run moves only forward through SCHEDULED, PENDING, RUNNING.</summary>
public abstract class PreventRedundantTransitionsTests(DatabaseKind database)
{
    public static IEnumerable<object?[]> RankedPairs =>
        from i in new StateType?[] { null, StateType.Scheduled, StateType.Pending, StateType.Running }
        from p in new StateType?[] { StateType.Scheduled, StateType.Pending, StateType.Running }
        select new object?[] { i, p };

    [Theory]
    [MemberData(nameof(RankedPairs))]
    public async Task REDUND_01_02_03_OnlyForwardMovesAreAccepted(StateType? initial, StateType proposed)
    {
        await using var app = await TestApp.StartAsync(database);
        int Rank(StateType? t) => t switch { null => 0, StateType.Scheduled => 1, StateType.Pending => 2, _ => 3 };
        bool redundant = Rank(proposed) <= Rank(initial);
        foreach (string kind in Kinds)
        {
            Guid id = initial is { } type
                ? await app.RunInStateAsync(kind, new { type = type.Wire(), state_details = new { scheduled_time = Iso(DateTime.UtcNow) } })
                : await app.StatelessRunAsync(kind);

            var result = await app.ProposeAsync(kind, id, Proposal(proposed), Policy(() => new PreventRedundantTransitions()));

            result.Status.Should().Be(redundant ? SetStateStatus.Abort : SetStateStatus.Accept, $"{kind} {initial} -> {proposed}");
            if (redundant)
            {
                result.Details.Reason.Should().Be($"This run cannot transition to the {proposed.Wire()} state from the {initial.ToMessageName()} state.");
            }
        }
    }

    [Fact]
    public async Task REDUND_02_TerminalAndPausedTransitions_AreOutsideTheRule()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (var (initial, proposed) in new[] { (StateType.Paused, StateType.Paused), (StateType.Running, StateType.Paused), (StateType.Paused, StateType.Pending), (StateType.Completed, StateType.Running) })
        {
            Guid id = await app.RunInStateAsync("task", new { type = initial.Wire() });
            var result = await app.ProposeAsync("task", id, Proposal(proposed), Policy(() => new PreventRedundantTransitions()));
            result.Status.Should().Be(SetStateStatus.Accept, $"{initial} -> {proposed}");
        }
    }

    [Fact]
    public async Task API_TR_12_ProposingTheSameStateTwice_IsAbortedTheSecondTime()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (string type in new[] { "PENDING", "RUNNING" })
        {
            Guid id = await app.StatelessRunAsync("task");
            var (first, firstBody) = await app.SetTaskRunStateAsync(id, new { type });
            var (second, secondBody) = await app.SetTaskRunStateAsync(id, new { type });

            first.Should().Be(201);
            firstBody.Str("status").Should().Be("ACCEPT");
            second.Should().Be(200);
            secondBody.Str("status").Should().Be("ABORT");
        }
    }
}

public sealed class PreventRedundantTransitionsTestsOnSqlite() : PreventRedundantTransitionsTests(DatabaseKind.Sqlite);

public sealed class PreventRedundantTransitionsTestsOnPostgres() : PreventRedundantTransitionsTests(DatabaseKind.Postgres);
