using System.Globalization;
using Orchestrator.Orchestration.Scheduling;

namespace Orchestrator.Tests.Orchestration.Scheduling;

/// <summary>Schedule dates, pinned with the worked examples of server-services.md §4.4 and §4.5.</summary>
public sealed class SchedulesTests
{
    private const string NewYork = "America/New_York";

    private static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture);

    private static DateTimeOffset InNewYork(int year, int month, int day, int hour) =>
        new(new DateTime(year, month, day, hour, 0, 0), TimeZoneInfo.FindSystemTimeZoneById(NewYork).GetUtcOffset(new DateTime(year, month, day, hour, 0, 0)));

    private static List<int> UtcHours(IEnumerable<DateTimeOffset> dates) => dates.Select(d => d.UtcDateTime.Hour).ToList();

    private static List<int> LocalHours(IEnumerable<DateTimeOffset> dates) => dates.Select(d => d.Hour).ToList();

    [Fact]
    public void Interval_Hourly_FromAnOldAnchor_GivesTheNextWholeHours()
    {
        var schedule = new IntervalSchedule(TimeSpan.FromHours(1), At("2020-01-01T00:00:00Z"), "UTC");

        var dates = schedule.Dates(At("2026-12-01T06:53:20Z"), count: 3).ToList();

        dates.Should().Equal(At("2026-12-01T07:00:00Z"), At("2026-12-01T08:00:00Z"), At("2026-12-01T09:00:00Z"));
    }

    [Fact]
    public void Interval_NinetyMinutes_KeepsTheAnchorsPhase()
    {
        var schedule = new IntervalSchedule(TimeSpan.FromMinutes(90), At("2021-01-01T00:10:00Z"), "UTC");

        schedule.Dates(At("2021-01-01T04:00:00Z"), count: 3).Should()
            .Equal(At("2021-01-01T04:40:00Z"), At("2021-01-01T06:10:00Z"), At("2021-01-01T07:40:00Z"));
    }

    [Fact]
    public void Interval_FromAFutureAnchor_StepsBackToTheStart()
    {
        var schedule = new IntervalSchedule(TimeSpan.FromHours(17), At("2030-02-02T05:24:00Z"), "UTC");

        var dates = schedule.Dates(At("2021-07-01T00:00:00Z"), count: 2).ToList();

        dates.Should().Equal(At("2021-07-01T07:24:00Z"), At("2021-07-02T00:24:00Z"));
    }

    [Fact]
    public void Interval_Daily_KeepsTheLocalTimeAcrossSpringForward()
    {
        var start = InNewYork(2018, 3, 8, 9);
        var schedule = new IntervalSchedule(TimeSpan.FromDays(1), start, NewYork);

        var dates = schedule.Dates(start, count: 5).ToList();

        LocalHours(dates).Should().Equal(9, 9, 9, 9, 9);
        UtcHours(dates).Should().Equal(14, 14, 14, 13, 13);
    }

    [Fact]
    public void Interval_Daily_KeepsTheLocalTimeAcrossFallBack()
    {
        var start = InNewYork(2018, 11, 1, 9);
        var schedule = new IntervalSchedule(TimeSpan.FromDays(1), start, NewYork);

        UtcHours(schedule.Dates(start, count: 5)).Should().Equal(13, 13, 13, 14, 14);
    }

    [Fact]
    public void Interval_Hourly_SkipsTheMissingHourOfSpringForward()
    {
        var start = InNewYork(2018, 3, 10, 23);
        var schedule = new IntervalSchedule(TimeSpan.FromHours(1), start, NewYork);

        var dates = schedule.Dates(start, count: 5).ToList();

        LocalHours(dates).Should().Equal(23, 0, 1, 3, 4);
        UtcHours(dates).Should().Equal(4, 5, 6, 7, 8);
    }

    [Fact]
    public void Interval_Hourly_DropsTheRepeatedWallClockHourOfFallBack()
    {
        var start = InNewYork(2018, 11, 3, 23);
        var schedule = new IntervalSchedule(TimeSpan.FromHours(1), start, NewYork);

        UtcHours(schedule.Dates(start, count: 5)).Should().Equal(3, 4, 5, 7, 8);
    }

    [Fact]
    public void Interval_KeepsTheAnchorsMicroseconds()
    {
        var schedule = new IntervalSchedule(TimeSpan.FromHours(1), At("2021-01-01T00:00:00.123456Z"), "UTC");

        schedule.Dates(At("2021-01-01T00:30:00Z"), count: 2).Should()
            .Equal(At("2021-01-01T01:00:00.123456Z"), At("2021-01-01T02:00:00.123456Z"));
    }

    [Fact]
    public void Dates_StopAtTheEnd_Inclusive()
    {
        var schedule = new IntervalSchedule(TimeSpan.FromHours(1), At("2026-01-01T00:00:00Z"), "UTC");

        schedule.Dates(At("2026-11-01T00:00:00Z"), At("2026-11-01T05:00:00Z"), count: 100).Should().HaveCount(6);
    }

    [Fact]
    public void Cron_Daily_IncludesAStartExactlyOnAMatch_ButNotHalfASecondAfter()
    {
        var schedule = new CronSchedule("0 0 * * *", null, DayOr: true);

        schedule.Dates(At("2021-01-01T00:00:00Z"), count: 2).Should().Equal(At("2021-01-01T00:00:00Z"), At("2021-01-02T00:00:00Z"));
        schedule.Dates(At("2021-01-01T00:00:00.5Z"), count: 2).Should().Equal(At("2021-01-02T00:00:00Z"), At("2021-01-03T00:00:00Z"));
    }

    [Fact]
    public void Cron_Daily_InItsZone_KeepsTheLocalTimeAcrossSpringForward()
    {
        var schedule = new CronSchedule("0 9 * * *", NewYork, DayOr: true);

        var dates = schedule.Dates(InNewYork(2018, 3, 8, 9), count: 5).ToList();

        LocalHours(dates).Should().Equal(9, 9, 9, 9, 9);
        UtcHours(dates).Should().Equal(14, 14, 14, 13, 13);
    }

    [Fact]
    public void Cron_Hourly_SkipsTheMissingHour_AndTakesTheStandardTimeOfTheRepeatedOne()
    {
        var schedule = new CronSchedule("0 * * * *", NewYork, DayOr: true);

        UtcHours(schedule.Dates(InNewYork(2018, 3, 10, 23), count: 5)).Should().Equal(4, 5, 6, 7, 8);
        UtcHours(schedule.Dates(InNewYork(2018, 11, 3, 23), count: 5)).Should().Equal(3, 4, 6, 7, 8);
    }

    [Fact]
    public void Cron_AtTwoThirtyInNewYork_IsAtTwoThirtyAgainTheDayAfterSpringForward()
    {
        var schedule = new CronSchedule("30 2 * * *", NewYork, DayOr: true);

        var dates = schedule.Dates(InNewYork(2018, 3, 9, 0), count: 4).ToList();

        dates.Select(d => (d.Day, d.Hour, d.Minute)).Should().Equal((9, 2, 30), (10, 2, 30), (11, 3, 30), (12, 2, 30));
    }

    [Fact]
    public void Cron_DayOr_DecidesWhetherDayOfMonthAndWeekdayAreEitherOrBoth()
    {
        var either = new CronSchedule("0 0 13 * 5", null, DayOr: true);
        var both = new CronSchedule("0 0 13 * 5", null, DayOr: false);

        either.Dates(At("2023-01-01T00:00:00Z"), count: 4).Select(d => d.Day).Should().Equal(6, 13, 20, 27);
        both.Dates(At("2023-01-01T00:00:00Z"), count: 2).Should().Equal(At("2023-01-13T00:00:00Z"), At("2023-10-13T00:00:00Z"));
    }

    [Theory]
    [InlineData("*/5 * * * * *")]
    [InlineData("@daily")]
    [InlineData("0 9 * * mon-fri")]
    public void Cron_AcceptsSecondsNamesAndAliases(string cron)
    {
        var schedule = new CronSchedule(cron, null, DayOr: true);

        schedule.Dates(At("2023-01-02T00:00:00Z"), count: 2).Should().HaveCount(2);
    }

    [Fact]
    public void RRule_Daily_KeepsItsWallClockTimeInItsZone()
    {
        var schedule = new RRuleSchedule("DTSTART:20210101T090000\nRRULE:FREQ=DAILY", NewYork);

        schedule.Dates(At("2021-03-13T00:00:00Z"), count: 3).Should()
            .Equal(At("2021-03-13T09:00:00-05:00"), At("2021-03-14T09:00:00-04:00"), At("2021-03-15T09:00:00-04:00"));
    }

    [Fact]
    public void RRule_HonoursCount_AndIgnoresAZOnDtstart()
    {
        var counted = new RRuleSchedule("DTSTART:20210101T000000Z\nRRULE:FREQ=HOURLY;COUNT=3", "UTC");
        var zoned = new RRuleSchedule("DTSTART:20210101T000000Z\nRRULE:FREQ=DAILY", NewYork);

        counted.Dates(At("2020-01-01T00:00:00Z"), count: 10).Should().HaveCount(3);
        zoned.Dates(At("2020-12-31T00:00:00Z"), count: 1).Should().Equal(At("2021-01-01T00:00:00-05:00"));
    }

    [Fact]
    public void RRule_Weekly_OnTheGivenDays()
    {
        var schedule = new RRuleSchedule("DTSTART:20210101T000000\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE", "Europe/Berlin");

        schedule.Dates(At("2021-01-01T00:00:00Z"), count: 3).Should()
            .Equal(At("2021-01-04T00:00:00+01:00"), At("2021-01-06T00:00:00+01:00"), At("2021-01-11T00:00:00+01:00"));
    }

    [Fact]
    public void RRule_WithoutDtstart_IsAnchoredAtTheStartOf2020_SoEveryEvaluationAgrees()
    {
        var schedule = new RRuleSchedule("FREQ=HOURLY", "UTC");

        schedule.Dates(At("2026-12-01T07:00:44Z"), count: 2).Should().Equal(At("2026-12-01T08:00:00Z"), At("2026-12-01T09:00:00Z"));
    }

    [Fact]
    public void RRule_ProducesNothingBeforeItsDtstart()
    {
        var schedule = new RRuleSchedule("DTSTART:20300101T000000\nRRULE:FREQ=DAILY", "UTC");

        schedule.Dates(At("2026-01-01T00:00:00Z"), count: 1).Should().Equal(At("2030-01-01T00:00:00Z"));
    }

    [Fact]
    public void IdempotencyKey_IsTheDateInTheSchedulesZone()
    {
        var id = Guid.Parse("ce0e8731-d9d3-423b-a761-54679fb1c3e9");

        ScheduledRuns.IdempotencyKey(id, At("2026-12-01T07:00:00+00:00")).Should().Be("scheduled ce0e8731-d9d3-423b-a761-54679fb1c3e9 2026-12-01T07:00:00+00:00");
        ScheduledRuns.IdempotencyKey(id, At("2026-12-01T09:00:00-05:00")).Should().Be("scheduled ce0e8731-d9d3-423b-a761-54679fb1c3e9 2026-12-01T09:00:00-05:00");
    }

    [Theory]
    [InlineData(60, 61)]
    [InlineData(300, 13)]
    [InlineData(3600, 3)]
    [InlineData(60 * 86400, 2)]
    public void Window_WithTheDefaults_CoversAnHourAndThreeRuns(double intervalSeconds, int expected)
    {
        var now = new DateTime(2026, 6, 1, 12, 0, 0, DateTimeKind.Utc);
        var schedule = new IntervalSchedule(TimeSpan.FromSeconds(intervalSeconds), new DateTimeOffset(now.AddSeconds(1)), "UTC");
        var window = new ScheduleWindow(now, now.AddDays(100), TimeSpan.FromHours(1), MinRuns: 3, MaxRuns: 100);

        ScheduledRuns.Dates(schedule, window).Should().HaveCount(expected);
    }
}
