using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Orchestration;

/// <summary>Many clients at once over real HTTP (decision D3): limits are never over-admitted.</summary>
public abstract class RaceTests(DatabaseKind database)
{
    [Fact]
    public async Task LimitOfOne_With16RacingRunningProposals_AdmitsExactlyOne_AndLeavesNoSlot()
    {
        await using var app = await TestApp.StartAsync(database, realHttp: true);
        app.Client.BaseAddress!.Host.Should().Be("127.0.0.1");
        await app.CreateLimitAsync("race", 1);
        Guid flowRun = IdOf(await app.CreateFlowRunAsync());
        var tasks = new List<Guid>();
        for (int i = 0; i < 16; i++)
        {
            tasks.Add(IdOf(await app.CreateTaskRunAsync(flowRun, extra: new { tags = new[] { "race" } }, dynamicKey: i.ToString())));
        }

        var waiting = new HashSet<Guid>(tasks);
        int rounds = 0;
        while (waiting.Count > 0)
        {
            rounds++;
            var answers = await Task.WhenAll(waiting.Select(async id => (Id: id, Answer: await app.SetTaskRunStateAsync(id, new { type = "RUNNING" }))));
            var accepted = answers.Where(a => a.Answer.Body.Str("status") == "ACCEPT").Select(a => a.Id).ToList();

            accepted.Should().HaveCount(1, $"round {rounds}: a limit of 1 admits exactly one of {waiting.Count}");
            answers.Count(a => a.Answer.Body.Str("status") == "WAIT").Should().Be(waiting.Count - 1);
            (await app.ActiveSlotsAsync("race")).Should().Equal(accepted);

            (await app.SetTaskRunStateAsync(accepted[0], new { type = "COMPLETED" })).Body.Str("status").Should().Be("ACCEPT");
            waiting.Remove(accepted[0]);
        }

        rounds.Should().Be(16);
        (await app.ActiveSlotsAsync("race")).Should().BeEmpty();
        var (_, completed) = await app.PostAsync("/api/task_runs/count", new { task_runs = new { state = new { type = new { any_ = new[] { "COMPLETED" } } } } });
        completed!.GetValue<int>().Should().Be(16);
    }

    [Fact]
    public async Task SameRun_With16IdenticalProposals_AcceptsOne_CountsOnce_WritesOneState()
    {
        await using var app = await TestApp.StartAsync(database, realHttp: true);
        Guid task = await app.RunInStateAsync("task", new { type = "PENDING" });

        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => app.SetTaskRunStateAsync(task, new { type = "RUNNING" })));
        var (_, history) = await app.GetAsync($"/api/task_run_states/?task_run_id={task}");

        answers.Count(a => a.Body.Str("status") == "ACCEPT").Should().Be(1);
        answers.Count(a => a.Body.Str("status") == "ABORT").Should().Be(15);
        (await app.TaskRunAsync(task)).RunCount.Should().Be(1);
        history!.AsArray().Select(s => s.Str("type")).Should().Equal("PENDING", "RUNNING");
    }
}

public sealed class RaceTestsOnSqlite() : RaceTests(DatabaseKind.Sqlite);

public sealed class RaceTestsOnPostgres() : RaceTests(DatabaseKind.Postgres);
