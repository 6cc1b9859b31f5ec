using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Orchestration;

/// <summary>
/// Many clients at once over real HTTP (decision D3). On PostgreSQL the clients are spread over two server
/// instances sharing the database, as behind a load balancer. After each test the database invariants hold.
/// </summary>
public abstract class RaceTests(DatabaseKind database) : IAsyncLifetime
{
    /// <summary>Rounds per limit race; the benchmark script runs the full 20 (<c>ORCHESTRATOR_RACE_ROUNDS</c>).</summary>
    private static readonly int Rounds = int.TryParse(Environment.GetEnvironmentVariable("ORCHESTRATOR_RACE_ROUNDS"), out int n) ? n : 4;

    private TestApp _app = null!;
    private TestApp[] _instances = [];

    public async Task InitializeAsync()
    {
        _app = await TestApp.StartAsync(database, realHttp: true);
        _instances = database == DatabaseKind.Postgres ? [_app, TestApp.StartAnotherInstance(_app)] : [_app];
    }

    public async Task DisposeAsync()
    {
        foreach (var instance in _instances.Reverse())
        {
            await instance.DisposeAsync();
        }
    }

    private TestApp InstanceFor(int client) => _instances[client % _instances.Length];

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task LimitRace_32RacingRunningProposals_AdmitExactlyTheLimit_EveryRound_AndLeaveNoSlot(int limit)
    {
        await _app.CreateLimitAsync("race", limit);
        Guid flowRun = IdOf(await _app.CreateFlowRunAsync());

        for (int round = 1; round <= Rounds; round++)
        {
            var tasks = await Task.WhenAll(Enumerable.Range(0, 32).Select(async i =>
                IdOf(await InstanceFor(i).CreateTaskRunAsync(flowRun, new { type = "PENDING" }, new { tags = new[] { "race" } }, dynamicKey: $"{round}-{i}"))));

            var answers = await Task.WhenAll(tasks.Select(async (id, i) =>
                (Id: id, Status: (await InstanceFor(i).SetTaskRunStateAsync(id, new { type = "RUNNING" })).Body.Str("status"))));
            var accepted = answers.Where(a => a.Status == "ACCEPT").Select(a => a.Id).ToList();

            accepted.Should().HaveCount(limit, $"round {round}: a limit of {limit} admits {limit} of 32 when its slots are free");
            answers.Where(a => a.Status != "ACCEPT").Should().OnlyContain(a => a.Status == "WAIT", $"round {round}: the rest wait");
            (await _app.ActiveSlotsAsync("race")).Should().BeEquivalentTo(accepted);

            var completions = await Task.WhenAll(accepted.Select((id, i) => InstanceFor(i + 1).SetTaskRunStateAsync(id, new { type = "COMPLETED" })));
            completions.Should().OnlyContain(c => c.Body.Str("status") == "ACCEPT");
            (await _app.ActiveSlotsAsync("race")).Should().BeEmpty($"round {round}: completed runs give their slots back");
        }

        (await Invariants.ViolationsAsync(_app)).Should().BeEmpty();
    }

    [Fact]
    public async Task LimitOfOne_With16RacingClients_AdmitsOneAtATime_UntilAllComplete()
    {
        await _app.CreateLimitAsync("race", 1);
        Guid flowRun = IdOf(await _app.CreateFlowRunAsync());
        var tasks = new List<Guid>();
        for (int i = 0; i < 16; i++)
        {
            tasks.Add(IdOf(await _app.CreateTaskRunAsync(flowRun, extra: new { tags = new[] { "race" } }, dynamicKey: i.ToString())));
        }

        var waiting = new HashSet<Guid>(tasks);
        int rounds = 0;
        while (waiting.Count > 0)
        {
            rounds++;
            var answers = await Task.WhenAll(waiting.Select(async (id, i) => (Id: id, Answer: await InstanceFor(i).SetTaskRunStateAsync(id, new { type = "RUNNING" }))));
            var accepted = answers.Where(a => a.Answer.Body.Str("status") == "ACCEPT").Select(a => a.Id).ToList();

            accepted.Should().HaveCount(1, $"round {rounds}: a limit of 1 admits exactly one of {waiting.Count}");
            answers.Count(a => a.Answer.Body.Str("status") == "WAIT").Should().Be(waiting.Count - 1);
            (await _app.ActiveSlotsAsync("race")).Should().Equal(accepted);

            (await _app.SetTaskRunStateAsync(accepted[0], new { type = "COMPLETED" })).Body.Str("status").Should().Be("ACCEPT");
            waiting.Remove(accepted[0]);
        }

        rounds.Should().Be(16);
        (await _app.ActiveSlotsAsync("race")).Should().BeEmpty();
        var (_, completed) = await _app.PostAsync("/api/task_runs/count", new { task_runs = new { state = new { type = new { any_ = new[] { "COMPLETED" } } } } });
        completed!.GetValue<int>().Should().Be(16);
        (await Invariants.ViolationsAsync(_app)).Should().BeEmpty();
    }

    [Theory]
    [InlineData("task")]
    [InlineData("flow")]
    public async Task SameRun_16IdenticalProposals_AcceptOne_CountOnce_WriteOneState(string kind)
    {
        Guid run = await _app.RunInStateAsync(kind, new { type = "PENDING" });

        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => InstanceFor(i).SetStateAsync(kind, run, new { type = "RUNNING" })));
        var (_, history) = await _app.GetAsync($"/api/{kind}_run_states/?{kind}_run_id={run}");

        answers.Count(a => a.Body.Str("status") == "ACCEPT").Should().Be(1);
        answers.Count(a => a.Body.Str("status") == "ABORT").Should().Be(15, "the others find the run already RUNNING");
        (await _app.ReadAsync(kind, run))["run_count"]!.GetValue<int>().Should().Be(1);
        history!.AsArray().Select(s => s.Str("type")).Should().Equal("PENDING", "RUNNING");
        (await Invariants.ViolationsAsync(_app)).Should().BeEmpty();
    }
}

public sealed class RaceTestsOnSqlite() : RaceTests(DatabaseKind.Sqlite);

public sealed class RaceTestsOnPostgres() : RaceTests(DatabaseKind.Postgres);
