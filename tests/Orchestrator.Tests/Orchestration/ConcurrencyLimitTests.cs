using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Orchestration.Rules;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;
using static Orchestrator.Tests.Infrastructure.Scenarios;

namespace Orchestrator.Tests.Orchestration;

/// <summary>
/// Concurrency limits per tag (test-scenarios.md, CONC). Where decisions D1 and D2 change 2.7.0's
/// behaviour, the test pins ours and says so in its name.
/// </summary>
public abstract class ConcurrencyLimitTests(DatabaseKind database)
{
    private static async Task<Guid> TaggedTaskAsync(TestApp app, params string[] tags) =>
        await app.RunInStateAsync("task", new { type = "PENDING" }, new { tags });

    private static async Task<string?> ProposeAsync(TestApp app, Guid task, string type, bool force = false) =>
        (await app.SetTaskRunStateAsync(task, new { type }, force)).Body.Str("status");

    /// <summary>Prefect 2.7.0's fixed 30 s wait, which the scenarios from its tests pin.</summary>
    internal static Dictionary<string, string?> FixedWaits => new() { ["Orchestration:ConcurrencyLimitWait"] = "Fixed" };

    [Fact]
    public async Task CONC_01_BasicLimiting_AdmitsUpToTheLimitAndReleasesOnCompletion()
    {
        await using var app = await TestApp.StartAsync(database, settings: FixedWaits);
        await app.CreateLimitAsync("some tag", 1);
        Guid task1 = await TaggedTaskAsync(app, "some tag");
        Guid task2 = await TaggedTaskAsync(app, "some tag");

        (await ProposeAsync(app, task1, "RUNNING")).Should().Be("ACCEPT");
        (await app.ActiveSlotsAsync("some tag")).Should().Equal(task1);
        var (status, wait) = await app.SetTaskRunStateAsync(task2, new { type = "RUNNING" });
        (await app.ActiveSlotsAsync("some tag")).Should().Equal(task1);
        (await ProposeAsync(app, task1, "COMPLETED")).Should().Be("ACCEPT");
        (await app.ActiveSlotsAsync("some tag")).Should().BeEmpty();
        (await ProposeAsync(app, task2, "RUNNING")).Should().Be("ACCEPT");
        (await app.ActiveSlotsAsync("some tag")).Should().Equal(task2);

        status.Should().Be(200);
        wait.Str("status").Should().Be("WAIT");
        wait!["state"].Should().BeNull();
        wait["details"].Str("type").Should().Be("wait_details");
        wait["details"]!["delay_seconds"]!.GetValue<int>().Should().Be(30);
        wait["details"].Str("reason").Should().Be("Concurrency limit for the some tag tag has been reached");
    }

    [Fact]
    public async Task CONC_02_ZeroLimit_Aborts()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("zero", 0);
        Guid task = await TaggedTaskAsync(app, "zero");

        var (status, result) = await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });

        status.Should().Be(200);
        result.Str("status").Should().Be("ABORT");
        result!["details"].Str("reason").Should().Be("The concurrency limit on tag \"zero\" is 0 and will deadlock if the task tries to run again.");
        (await app.ActiveSlotsAsync("zero")).Should().BeEmpty();
    }

    [Fact]
    public async Task CONC_03_SlotsTakenByAFizzledRule_AreReturned()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("tag", 1);
        Guid task = await TaggedTaskAsync(app, "tag");
        var policy = Policy(() => new SecureTaskConcurrencySlots(), () => new ReleaseTaskConcurrencySlots(), () => new RejectToCompleted());

        var result = await app.ProposeAsync("task", task, Proposal(StateType.Running), policy);

        result.Status.Should().Be(SetStateStatus.Reject);
        (await app.ActiveSlotsAsync("tag")).Should().BeEmpty();
    }

    [Fact]
    public async Task CONC_04_OneRunHoldsOneSlot_WhenItEntersRunningAgain()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("tag", 10);
        Guid task = await TaggedTaskAsync(app, "tag");
        await ProposeAsync(app, task, "RUNNING");
        await app.SetTaskRunStateAsync(task, new { type = "PENDING" }, force: true);
        await app.WithDbAsync(async db =>
        {
            var limit = db.ConcurrencyLimits.Single(l => l.Tag == "tag");
            limit.ActiveSlots.Add(task);
            await db.SaveChangesAsync();
        });

        (await ProposeAsync(app, task, "RUNNING")).Should().Be("ACCEPT");

        (await app.ActiveSlotsAsync("tag")).Should().Equal(task);
    }

    [Fact]
    public async Task CONC_05_LimitsCreatedMidRun_AreNotDoubleCounted()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("primary tag", 2);
        Guid task1 = await TaggedTaskAsync(app, "primary tag", "secondary tag");
        Guid task2 = await TaggedTaskAsync(app, "primary tag", "secondary tag");

        (await ProposeAsync(app, task1, "RUNNING")).Should().Be("ACCEPT");
        await app.CreateLimitAsync("secondary tag", 1);
        (await app.ActiveSlotsAsync("primary tag")).Should().HaveCount(1);
        (await app.ActiveSlotsAsync("secondary tag")).Should().BeEmpty();
        (await ProposeAsync(app, task2, "RUNNING")).Should().Be("ACCEPT");
        (await app.ActiveSlotsAsync("primary tag")).Should().HaveCount(2);
        (await app.ActiveSlotsAsync("secondary tag")).Should().HaveCount(1);
        await ProposeAsync(app, task1, "COMPLETED");
        (await app.ActiveSlotsAsync("primary tag")).Should().HaveCount(1);
        (await app.ActiveSlotsAsync("secondary tag")).Should().HaveCount(1);
        await ProposeAsync(app, task2, "COMPLETED");
        (await app.ActiveSlotsAsync("primary tag")).Should().BeEmpty();
        (await app.ActiveSlotsAsync("secondary tag")).Should().BeEmpty();
    }

    [Fact]
    public async Task CONC_06_DeletedLimits_StopLimiting()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("big", 2);
        await app.CreateLimitAsync("small", 1);
        Guid task1 = await TaggedTaskAsync(app, "big", "small");
        Guid task2 = await TaggedTaskAsync(app, "big", "small");
        Guid task3 = await TaggedTaskAsync(app, "big", "small");

        (await ProposeAsync(app, task1, "RUNNING")).Should().Be("ACCEPT");
        (await app.ActiveSlotsAsync("small")).Should().HaveCount(1);
        (await ProposeAsync(app, task2, "RUNNING")).Should().Be("WAIT");
        await app.DeleteAsync("/api/concurrency_limits/tag/small");
        (await ProposeAsync(app, task3, "RUNNING")).Should().Be("ACCEPT");
    }

    [Fact]
    public async Task CONC_07_RaisedLimitsAdmitMore()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("tag", 1);
        Guid task1 = await TaggedTaskAsync(app, "tag");
        Guid task2 = await TaggedTaskAsync(app, "tag");
        await ProposeAsync(app, task1, "RUNNING");

        await app.CreateLimitAsync("tag", 2);

        (await ProposeAsync(app, task2, "RUNNING")).Should().Be("ACCEPT");
        (await app.ActiveSlotsAsync("tag")).Should().HaveCount(2);
    }

    [Fact]
    public async Task CONC_08_LoweredLimitsBlockNewRuns()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("tag", 2);
        Guid task1 = await TaggedTaskAsync(app, "tag");
        Guid task2 = await TaggedTaskAsync(app, "tag");
        await ProposeAsync(app, task1, "RUNNING");

        await app.CreateLimitAsync("tag", 1);

        (await ProposeAsync(app, task2, "RUNNING")).Should().Be("WAIT");
        (await app.ActiveSlotsAsync("tag")).Should().HaveCount(1);
    }

    [Fact]
    public async Task CONC_09_LoweredLimitsDoNotEvict()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("tag", 2);
        Guid task = await TaggedTaskAsync(app, "tag");
        await ProposeAsync(app, task, "RUNNING");

        await app.CreateLimitAsync("tag", 0);
        (await app.ActiveSlotsAsync("tag")).Should().HaveCount(1);

        (await ProposeAsync(app, task, "COMPLETED")).Should().Be("ACCEPT");
        (await app.ActiveSlotsAsync("tag")).Should().BeEmpty();
    }

    [Fact]
    public async Task CONC_10_ForcedExits_ReleaseTheSlot()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("red", 1);
        Guid task1 = await TaggedTaskAsync(app, "red");
        Guid task2 = await TaggedTaskAsync(app, "red");

        (await ProposeAsync(app, task1, "RUNNING")).Should().Be("ACCEPT");
        (await ProposeAsync(app, task2, "RUNNING")).Should().Be("WAIT");
        (await ProposeAsync(app, task1, "FAILED", force: true)).Should().Be("ACCEPT");
        (await ProposeAsync(app, task2, "RUNNING")).Should().Be("ACCEPT");
    }

    [Fact]
    public async Task CONC_11_D1_RetryingTask_GivesBackItsSlotAndIsAdmittedAgain()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        await app.CreateLimitAsync("tag", 1);
        Guid task = await app.RunInStateAsync("task", new { type = "PENDING" }, new { tags = new[] { "tag" }, empirical_policy = new { retries = 1, retry_delay = 5 } });
        (await ProposeAsync(app, task, "RUNNING")).Should().Be("ACCEPT");

        (await ProposeAsync(app, task, "FAILED")).Should().Be("REJECT");
        (await app.ActiveSlotsAsync("tag")).Should().BeEmpty("decision D1: 2.7.0 kept the slot while awaiting the retry");
        clock.Advance(TimeSpan.FromSeconds(6));
        var (_, retry) = await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });

        retry.Str("status").Should().Be("ACCEPT");
        retry!["state"].Str("name").Should().Be("Retrying");
        (await app.ActiveSlotsAsync("tag")).Should().Equal(task);
    }

    [Fact]
    public async Task CONC_12_D2_BlockedAttempt_KeepsNoSlotWhateverTheTagOrder()
    {
        await using var app = await TestApp.StartAsync(database);
        foreach (var (blocking, free) in new[] { ("a", "b"), ("d", "c") })
        {
            await app.CreateLimitAsync(blocking, 1);
            await app.CreateLimitAsync(free, 5);
            Guid holder = await TaggedTaskAsync(app, blocking);
            await ProposeAsync(app, holder, "RUNNING");
            Guid task = await TaggedTaskAsync(app, "a", "b", "c", "d");

            (await ProposeAsync(app, task, "RUNNING")).Should().Be("WAIT");

            (await app.ActiveSlotsAsync(free)).Should().NotContain(task, "decision D2: 2.7.0 leaked slots of tags sorting after the blocking one");
            (await app.ActiveSlotsAsync(blocking)).Should().Equal(holder);
        }
    }

    [Fact]
    public async Task CONC_13_D2_ZeroLimitOnAnyTag_AbortsRegardlessOfOrder()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("a", 0);
        await app.CreateLimitAsync("b", 1);
        await app.CreateLimitAsync("c", 1);
        await app.CreateLimitAsync("d", 0);
        Guid holderB = await TaggedTaskAsync(app, "b");
        Guid holderC = await TaggedTaskAsync(app, "c");
        await ProposeAsync(app, holderB, "RUNNING");
        await ProposeAsync(app, holderC, "RUNNING");
        Guid zeroFirst = await TaggedTaskAsync(app, "a", "b");
        Guid zeroLast = await TaggedTaskAsync(app, "c", "d");

        var (_, first) = await app.SetTaskRunStateAsync(zeroFirst, new { type = "RUNNING" });
        var (_, last) = await app.SetTaskRunStateAsync(zeroLast, new { type = "RUNNING" });

        first.Str("status").Should().Be("ABORT", "decision D2: 2.7.0 let the last blocking tag (a full one) answer WAIT");
        first!["details"].Str("reason").Should().Contain("\"a\" is 0");
        last.Str("status").Should().Be("ABORT");
        last!["details"].Str("reason").Should().Contain("\"d\" is 0");
    }

    [Fact]
    public async Task CONC_14_CacheHit_IgnoresFullLimits()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("tag", 1);
        Guid holder = await TaggedTaskAsync(app, "tag");
        await ProposeAsync(app, holder, "RUNNING");
        Guid cached = await app.RunInStateAsync("task", new { type = "RUNNING" });
        await app.SetTaskRunStateAsync(cached, new { type = "COMPLETED", state_details = new { cache_key = "k" } });
        Guid task = await TaggedTaskAsync(app, "tag");

        var (_, result) = await app.SetTaskRunStateAsync(task, new { type = "RUNNING", state_details = new { cache_key = "k" } });

        result.Str("status").Should().Be("REJECT");
        result!["state"].Str("name").Should().Be("Cached");
        (await app.ActiveSlotsAsync("tag")).Should().Equal(holder);
    }

    [Fact]
    public async Task CONC_15_FutureScheduledRun_WaitsAndGivesBackTheSlotItSecured()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("tag", 5);
        Guid task = await app.RunInStateAsync("task",
            new { type = "SCHEDULED", state_details = new { scheduled_time = Iso(DateTime.UtcNow.AddMinutes(5)) } }, new { tags = new[] { "tag" } });

        var (_, result) = await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });

        result.Str("status").Should().Be("WAIT");
        result!["details"]!["delay_seconds"]!.GetValue<int>().Should().BeInRange(298, 300);
        (await app.ActiveSlotsAsync("tag")).Should().BeEmpty();
    }

    [Fact]
    public async Task CONC_16_D1_ForcedRunningToRunning_KeepsTheSlotOfARunStillRunning()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("tag", 1);
        Guid task = await TaggedTaskAsync(app, "tag");
        await ProposeAsync(app, task, "RUNNING");

        (await ProposeAsync(app, task, "RUNNING", force: true)).Should().Be("ACCEPT");

        (await app.ActiveSlotsAsync("tag")).Should().BeEquivalentTo(new[] { task }, "decision D1: a run whose validated state is RUNNING keeps its slot");
    }

    [Fact]
    public async Task CONC_17_ForcedEntry_TakesNoSlot_AndLeavingReleasesNothing()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("tag", 1);
        Guid task = await TaggedTaskAsync(app, "tag");

        (await ProposeAsync(app, task, "RUNNING", force: true)).Should().Be("ACCEPT");
        (await app.ActiveSlotsAsync("tag")).Should().BeEmpty();
        (await ProposeAsync(app, task, "COMPLETED")).Should().Be("ACCEPT");
        (await app.ActiveSlotsAsync("tag")).Should().BeEmpty();
    }

    [Fact]
    public async Task CONC_18_RunHoldingTheOnlySlot_IsAbortedFromRunning_AndWaitsFromPending()
    {
        await using var app = await TestApp.StartAsync(database);
        await app.CreateLimitAsync("tag", 1);
        Guid task = await TaggedTaskAsync(app, "tag");
        await ProposeAsync(app, task, "RUNNING");

        (await ProposeAsync(app, task, "RUNNING")).Should().Be("ABORT");
        await app.WithDbAsync(async db =>
        {
            // A PENDING run that still holds the slot (as after a lost response and a forced reset in 2.7.0).
            var run = db.TaskRuns.Single(r => r.Id == task);
            var state = Orchestrator.Data.TaskRunState.From(Proposal(StateType.Pending) with { Id = Guid.NewGuid(), Timestamp = DateTime.UtcNow }, task, DateTime.UtcNow);
            db.TaskRunStates.Add(state);
            run.StateId = state.Id;
            run.StateType = StateType.Pending;
            await db.SaveChangesAsync();
        });
        (await ProposeAsync(app, task, "RUNNING")).Should().Be("WAIT");
    }

    [Fact]
    public async Task CONC_19_TagsWithoutALimit_AndUntaggedTasks_AreNeverLimited()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid unlimited = await TaggedTaskAsync(app, "no-limit-here");
        Guid untagged = await TaggedTaskAsync(app);

        (await ProposeAsync(app, unlimited, "RUNNING")).Should().Be("ACCEPT");
        (await ProposeAsync(app, untagged, "RUNNING")).Should().Be("ACCEPT");
    }

    [Fact]
    public async Task D5_FixedWaitDelay_IsConfigurable()
    {
        await using var app = await TestApp.StartAsync(database, settings: new(FixedWaits) { ["Orchestration:ConcurrencyLimitWaitSeconds"] = "7" });
        await app.CreateLimitAsync("tag", 1);
        await ProposeAsync(app, await TaggedTaskAsync(app, "tag"), "RUNNING");

        var (_, result) = await app.SetTaskRunStateAsync(await TaggedTaskAsync(app, "tag"), new { type = "RUNNING" });

        result!["details"]!["delay_seconds"]!.GetValue<int>().Should().Be(7);
    }

    private sealed class RejectToCompleted : OrchestrationRule
    {
        public override IReadOnlySet<StateType?> FromStates => StateSets.All;
        public override IReadOnlySet<StateType?> ToStates => StateSets.All;

        public override Task BeforeTransitionAsync(OrchestrationContext context, CancellationToken cancellationToken)
        {
            RejectTransition(context, context.NewState(StateType.Completed, "Completed"), "test");
            return Task.CompletedTask;
        }
    }
}

public sealed class ConcurrencyLimitTestsOnSqlite() : ConcurrencyLimitTests(DatabaseKind.Sqlite);

public sealed class ConcurrencyLimitTestsOnPostgres() : ConcurrencyLimitTests(DatabaseKind.Postgres);
