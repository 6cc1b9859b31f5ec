using System.Globalization;
using System.Text.Json;
using Cronos;
using Ical.Net.CalendarComponents;
using Ical.Net.DataTypes;
using Orchestrator.Infrastructure;

namespace Orchestrator.Orchestration.Scheduling;

/// <summary>
/// A deployment's schedule: when its runs are due. Dates come out in ascending order, at or after the
/// start, no later than the end, and never twice for the same wall-clock time in the schedule's zone
/// (server-services.md §4.3).
/// </summary>
public abstract record Schedule
{
    /// <summary>2.7.0 gives up after this many candidate dates, whatever else stops it.</summary>
    private const int MaxIterations = 1000;

    /// <summary>The zone dates are computed and written in.</summary>
    public abstract TimeZoneInfo Zone { get; }

    /// <summary>
    /// Up to <paramref name="count"/> dates (1000 when an end is given, else 1) from
    /// <paramref name="start"/>, inclusive, to <paramref name="end"/>, inclusive.
    /// </summary>
    public IEnumerable<DateTimeOffset> Dates(DateTimeOffset start, DateTimeOffset? end = null, int? count = null)
    {
        int wanted = count ?? (end is null ? 1 : 1000);
        TimeZoneInfo zone = Zone;
        var seen = new HashSet<DateTime>();
        int yielded = 0;
        foreach (DateTimeOffset candidate in Candidates(start).Take(MaxIterations))
        {
            if (yielded >= wanted || (end is { } last && candidate > last))
            {
                yield break;
            }

            DateTimeOffset local = TimeZoneInfo.ConvertTime(candidate, zone);
            if (candidate >= start && seen.Add(local.DateTime))
            {
                yielded++;
                yield return local;
            }
        }
    }

    /// <summary>Candidate dates from about <paramref name="start"/> on, ascending; may repeat a wall-clock time.</summary>
    protected abstract IEnumerable<DateTimeOffset> Candidates(DateTimeOffset start);

    /// <summary>
    /// A wall-clock time in <paramref name="zone"/> as an instant: a time skipped by a spring-forward
    /// change moves forward by the gap, a time repeated by a fall-back change takes the standard offset.
    /// </summary>
    protected static DateTimeOffset Resolve(DateTime wallClock, TimeZoneInfo zone)
    {
        var local = DateTime.SpecifyKind(wallClock, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(local))
        {
            TimeSpan before = zone.GetUtcOffset(local.AddHours(-3));
            TimeSpan after = zone.GetUtcOffset(local.AddHours(3));
            local = local.Add(after - before);
        }

        TimeSpan offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Min() : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset);
    }

    public static TimeZoneInfo? FindZone(string? name)
    {
        if (name is null or "UTC" or "Etc/UTC")
        {
            return TimeZoneInfo.Utc;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(name);
        }
        catch (Exception error) when (error is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return null;
        }
    }

    /// <summary>
    /// The stored JSON of a deployment's schedule, as the schedule readers wrote it; a
    /// <see cref="FormatException"/> for JSON that is not one (a row written by other means).
    /// </summary>
    public static Schedule FromJson(RawJson json)
    {
        try
        {
            return Read(json);
        }
        catch (Exception error) when (error is JsonException or InvalidOperationException or KeyNotFoundException or NotSupportedException)
        {
            throw new FormatException($"Not a schedule: {json.Text}", error);
        }
    }

    private static Schedule Read(RawJson json)
    {
        using var document = JsonDocument.Parse(json.Text);
        JsonElement root = document.RootElement;
        if (root.TryGetProperty("interval", out JsonElement interval))
        {
            return new IntervalSchedule(
                TimeSpan.FromSeconds(interval.GetDouble()),
                DateTimeOffset.Parse(root.GetProperty("anchor_date").GetString()!, CultureInfo.InvariantCulture),
                root.GetProperty("timezone").GetString() ?? "UTC");
        }

        if (root.TryGetProperty("cron", out JsonElement cron))
        {
            string? zone = root.TryGetProperty("timezone", out JsonElement tz) && tz.ValueKind == JsonValueKind.String ? tz.GetString() : null;
            bool dayOr = !root.TryGetProperty("day_or", out JsonElement or) || or.ValueKind != JsonValueKind.False;
            return new CronSchedule(cron.GetString()!, zone, dayOr);
        }

        if (root.TryGetProperty("rrule", out JsonElement rule))
        {
            string zone = root.TryGetProperty("timezone", out JsonElement tz) && tz.ValueKind == JsonValueKind.String ? tz.GetString()! : "UTC";
            return new RRuleSchedule(rule.GetString()!, zone);
        }

        throw new NotSupportedException($"Unsupported schedule: {json.Text}");
    }
}

/// <summary>
/// Every <see cref="Interval"/> from <see cref="AnchorDate"/>. Intervals under a day step in elapsed time;
/// a day or more steps in local calendar days, keeping the local clock time across DST changes.
/// </summary>
public sealed record IntervalSchedule(TimeSpan Interval, DateTimeOffset AnchorDate, string Timezone) : Schedule
{
    public override TimeZoneInfo Zone => FindZone(Timezone) ?? TimeZoneInfo.Utc;

    protected override IEnumerable<DateTimeOffset> Candidates(DateTimeOffset start)
    {
        TimeZoneInfo zone = Zone;
        TimeSpan days = TimeSpan.FromDays(Math.Truncate(Interval.TotalDays));
        TimeSpan rest = Interval - days;

        // The anchor plus whole intervals, in elapsed time, to just before (or after) the start; then steps.
        long steps = (long)Math.Truncate((start - AnchorDate).Ticks / (double)Interval.Ticks);
        DateTimeOffset date = AnchorDate.AddTicks(steps * Interval.Ticks);
        while (date < start)
        {
            date = Step(date, days, rest, zone);
        }

        while (true)
        {
            yield return date;
            date = Step(date, days, rest, zone);
        }
    }

    private static DateTimeOffset Step(DateTimeOffset date, TimeSpan days, TimeSpan rest, TimeZoneInfo zone)
    {
        if (days == TimeSpan.Zero)
        {
            return date + rest;
        }

        DateTime wallClock = TimeZoneInfo.ConvertTime(date, zone).DateTime + days + rest;
        return Resolve(wallClock, zone);
    }
}

/// <summary>
/// A cron expression (five fields, or six with seconds first), evaluated on the wall clock of its zone
/// (UTC when none), each match then placed in the zone as <see cref="Schedule.Resolve"/> does. With both
/// day fields restricted, <see cref="DayOr"/> true (classic cron) matches either; false matches only days
/// that satisfy both (Cronos' own reading).
/// </summary>
public sealed record CronSchedule(string Cron, string? Timezone, bool DayOr) : Schedule
{
    public override TimeZoneInfo Zone => FindZone(Timezone) ?? TimeZoneInfo.Utc;

    protected override IEnumerable<DateTimeOffset> Candidates(DateTimeOffset start)
    {
        var expressions = Parse(Cron, DayOr);
        TimeZoneInfo zone = Zone;

        // A start exactly on a match is included, one a fraction of a second after a match is not.
        DateTime wallClock = TimeZoneInfo.ConvertTime(start, zone).DateTime.AddSeconds(-1);
        if (wallClock.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            wallClock = new DateTime(wallClock.Ticks - (wallClock.Ticks % TimeSpan.TicksPerSecond) + TimeSpan.TicksPerSecond);
        }

        DateTime cursor = DateTime.SpecifyKind(wallClock, DateTimeKind.Utc);
        while (expressions.Select(e => e.GetNextOccurrence(cursor)).Where(n => n is not null).Min() is { } next)
        {
            cursor = next;
            yield return Resolve(next, zone);
        }
    }

    /// <summary>
    /// The expressions whose matches together are the schedule's: one, or for <c>day_or</c> with both day
    /// fields restricted, one for each day field with the other left free.
    /// </summary>
    public static IReadOnlyList<CronExpression> Parse(string cron, bool dayOr)
    {
        string[] fields = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        CronFormat format = fields.Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard;
        int dom = fields.Length - 3;
        int dow = fields.Length - 1;
        if (!dayOr || fields.Length < 5 || fields[dom] is "*" or "?" || fields[dow] is "*" or "?")
        {
            return [CronExpression.Parse(cron, format)];
        }

        string[] byMonthDay = [.. fields];
        byMonthDay[dow] = "*";
        string[] byWeekday = [.. fields];
        byWeekday[dom] = "*";
        return [CronExpression.Parse(string.Join(' ', byMonthDay), format), CronExpression.Parse(string.Join(' ', byWeekday), format)];
    }
}

/// <summary>
/// An RFC 5545 recurrence (a bare rule such as <c>FREQ=DAILY</c>, or <c>DTSTART:</c>, <c>RRULE:</c>,
/// <c>EXRULE:</c>, <c>RDATE:</c>, <c>EXDATE:</c> lines), evaluated by Ical.Net in the schedule's zone. As in
/// 2.7.0 the dates of DTSTART, RDATE and EXDATE are wall-clock times in that zone (a trailing <c>Z</c> is
/// ignored). A rule without DTSTART starts at 2020-01-01 00:00 in the zone, as later Prefect versions do:
/// 2.7.0 anchors it at the moment of evaluation, so each pass of the scheduler gave a different series.
/// </summary>
public sealed record RRuleSchedule(string RRule, string Timezone) : Schedule
{
    private static readonly string[] DatedProperties = ["DTSTART", "RDATE", "EXDATE"];

    public override TimeZoneInfo Zone => FindZone(Timezone) ?? TimeZoneInfo.Utc;

    protected override IEnumerable<DateTimeOffset> Candidates(DateTimeOffset start) =>
        Parse(RRule, Timezone).GetOccurrences(new CalDateTime(start.UtcDateTime))
            .Select(o => new DateTimeOffset(o.Period.StartTime.AsUtc, TimeSpan.Zero));

    /// <summary>The recurrence as an event Ical.Net evaluates; throws <see cref="FormatException"/> for one it cannot read.</summary>
    public static CalendarEvent Parse(string rule, string timezone)
    {
        var lines = rule.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (lines.Count == 1 && !lines[0].Contains(':', StringComparison.Ordinal))
        {
            lines[0] = "RRULE:" + lines[0];
        }

        if (!lines.Any(l => l.StartsWith("DTSTART", StringComparison.OrdinalIgnoreCase)))
        {
            lines.Insert(0, "DTSTART:20200101T000000");
        }

        string zone = timezone is "UTC" or "Etc/UTC" ? "UTC" : timezone;
        for (int i = 0; i < lines.Count; i++)
        {
            int colon = lines[i].IndexOf(':', StringComparison.Ordinal);
            string name = colon < 0 ? lines[i] : lines[i][..colon].Split(';')[0].ToUpperInvariant();
            if (colon > 0 && DatedProperties.Contains(name))
            {
                string values = string.Join(',', lines[i][(colon + 1)..].Split(',').Select(v => v.TrimEnd('Z', 'z')));
                lines[i] = $"{name};TZID={zone}:{values}";
            }
        }

        try
        {
            string calendar = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n" + string.Join("\r\n", lines) + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
            var recurrence = Ical.Net.Calendar.Load(calendar)?.Events.SingleOrDefault();
            if (recurrence is null || (recurrence.RecurrenceRule is null && !recurrence.RecurrenceDates.GetAllDates().Any()))
            {
                throw new FormatException("no RRULE or RDATE");
            }

            return recurrence;
        }
        catch (Exception error) when (error is not FormatException)
        {
            throw new FormatException(error.Message, error);
        }
    }
}
