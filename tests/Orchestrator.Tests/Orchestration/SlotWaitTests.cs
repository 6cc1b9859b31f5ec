using Orchestrator.Orchestration;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Orchestration;

public sealed class SlotWaitTests
{
    private static readonly DateTime Now = new(2026, 12, 1, 12, 0, 0, DateTimeKind.Utc);

    private static int Seconds(double? mean, int limit, params double[] heldFor) =>
        SlotWait.Seconds(heldFor.Select(s => Now.AddSeconds(-s)).ToList(), mean, limit, Now, maxSeconds: 30, new Random(7));

    [Fact]
    public void AWaiter_ComesBackWhenTheFirstSlotShouldFree_RoundedUp()
    {
        Seconds(mean: 10, limit: 20, heldFor: [2, 6.5, 9]).Should().Be(1, "the oldest has a second left");
        Seconds(mean: 10, limit: 20, heldFor: [2, 6.5]).Should().Be(4, "3.5 s left, rounded up");
    }

    [Fact]
    public void TheWait_IsBoundedByTheConfiguredMaximum_AndIsAtLeastASecond()
    {
        Seconds(mean: 3600, limit: 100, heldFor: [1]).Should().Be(30);
        Seconds(mean: 10, limit: 100, heldFor: [10.05]).Should().Be(1, "a holder just past the mean should let go any moment");
        Seconds(mean: 10, limit: 100, heldFor: [25]).Should().Be(15, "one late by 15 s is expected to be about that late again");
        SlotWait.Seconds([], 5, 1, Now, 30, new Random()).Should().Be(1);
    }

    [Fact]
    public void WithoutHistory_TheWaitGrowsWithTheHoldersAge()
    {
        Seconds(mean: null, limit: 1, heldFor: [0]).Should().Be(1);
        Seconds(mean: null, limit: 1, heldFor: [40]).Should().Be(5);
        Seconds(mean: null, limit: 1, heldFor: [4000]).Should().Be(30);
    }

    [Fact]
    public void Waiters_AreSpreadOverOneAverageGapBetweenSlotsFreeing()
    {
        var random = new Random(1);
        var waits = Enumerable.Range(0, 200)
            .Select(_ => SlotWait.Seconds([Now.AddSeconds(-10)], meanSlotSeconds: 60, limit: 10, Now, 120, random))
            .ToList();

        waits.Min().Should().Be(50);
        waits.Max().Should().Be(56, "slots free every 6 s on average");
    }
}

public abstract class AdaptiveWaitTests(DatabaseKind database)
{
    [Fact]
    public async Task AWaitingTask_IsToldToComeBackAboutWhenTheHeldSlotShouldFree()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        await app.CreateLimitAsync("tag", 1);
        Guid first = IdOf(await app.CreateTaskRunAsync(extra: new { tags = new[] { "tag" } }));
        await app.SetTaskRunStateAsync(first, new { type = "RUNNING" });
        clock.Advance(TimeSpan.FromSeconds(12));
        await app.SetTaskRunStateAsync(first, new { type = "COMPLETED" });
        Guid second = IdOf(await app.CreateTaskRunAsync(extra: new { tags = new[] { "tag" } }));
        await app.SetTaskRunStateAsync(second, new { type = "RUNNING" });
        clock.Advance(TimeSpan.FromSeconds(5));

        var (_, wait) = await app.SetTaskRunStateAsync(IdOf(await app.CreateTaskRunAsync(extra: new { tags = new[] { "tag" } })), new { type = "RUNNING" });

        wait.Str("status").Should().Be("WAIT");
        // Slots were held 12 s; this one for 5 s: 7 s left, plus up to 12 s of spread for a limit of one.
        wait!["details"]!["delay_seconds"]!.GetValue<int>().Should().BeInRange(7, 19);
        (await app.WithDbAsync(db => Task.FromResult(db.ConcurrencyLimits.Single().MeanSlotSeconds))).Should().BeApproximately(12, 0.01);
    }

    [Fact]
    public async Task ACrash_DoesNotCountAsHowLongSlotsAreHeld()
    {
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        await app.CreateLimitAsync("tag", 1);
        Guid task = IdOf(await app.CreateTaskRunAsync(extra: new { tags = new[] { "tag" } }));
        await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });
        clock.Advance(TimeSpan.FromHours(3));

        await app.SetTaskRunStateAsync(task, new { type = "CRASHED" });

        (await app.WithDbAsync(db => Task.FromResult(db.ConcurrencyLimits.Single().MeanSlotSeconds))).Should().BeNull();
        (await app.ActiveSlotsAsync("tag")).Should().BeEmpty();
    }
}

public sealed class AdaptiveWaitTestsOnSqlite() : AdaptiveWaitTests(DatabaseKind.Sqlite);

public sealed class AdaptiveWaitTestsOnPostgres() : AdaptiveWaitTests(DatabaseKind.Postgres);
