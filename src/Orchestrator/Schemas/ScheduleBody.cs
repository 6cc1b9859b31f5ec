using System.Globalization;
using System.Text.Json.Nodes;
using Cronos;
using Orchestrator.Infrastructure;
using Orchestrator.Orchestration.Scheduling;
using Orchestrator.Schemas.Validation;

namespace Orchestrator.Schemas;

/// <summary>
/// A deployment's <c>schedule</c> as a body sends it: an interval, a cron or an rrule schedule, told apart
/// by their keys. Interval and cron schedules are checked by the same code that computes their dates
/// (an unknown time zone, a zero interval, a cron string Cronos cannot read, an rrule Ical.Net cannot read
/// or that never fires are each a 422 naming the field).
/// </summary>
public sealed record ScheduleBody(double? IntervalSeconds, DateTimeOffset? AnchorDate, string? Timezone, string? Cron, bool DayOr, string? RRule)
{
    public static ScheduleBody? Read(JsonObjectReader r)
    {
        ScheduleBody? body = null;
        r.Nested<object>("schedule", s =>
        {
            if (s.Has("interval"))
            {
                body = ReadInterval(s);
            }
            else if (s.Has("cron"))
            {
                body = ReadCron(s);
            }
            else if (s.Has("rrule"))
            {
                string? rule = s.String("rrule", required: true);
                string? zone = ZoneOf(s);
                if (rule is not null && Schedule.FindZone(zone) is not null)
                {
                    CheckRRule(s, rule, zone ?? "UTC");
                }

                body = new ScheduleBody(null, null, zone ?? "UTC", null, true, rule);
            }
            else
            {
                s.Error("interval", "field required", "value_error.missing");
            }

            return s;
        }, forbidExtra: true);
        return body;
    }

    private static ScheduleBody ReadInterval(JsonObjectReader s)
    {
        double? seconds = s.Duration("interval", required: true);
        if (seconds <= 0)
        {
            s.Error("interval", "The interval must be positive", "value_error");
        }

        DateTime? anchor = s.Timestamp("anchor_date");
        string? zone = ZoneOf(s);
        return new ScheduleBody(seconds, anchor is { } a ? new DateTimeOffset(a, TimeSpan.Zero) : null, zone ?? "UTC", null, true, null);
    }

    private static ScheduleBody ReadCron(JsonObjectReader s)
    {
        string? cron = s.String("cron", required: true);
        string? zone = ZoneOf(s);
        bool dayOr = s.Bool("day_or", nullable: false) ?? true;
        if (cron is not null)
        {
            if (cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Any(f => f.Equals("R", StringComparison.OrdinalIgnoreCase) || f.Equals("H", StringComparison.OrdinalIgnoreCase)))
            {
                s.Error("cron", $"Random and Hashed expressions are unsupported, recieved: \"{cron}\"", "value_error");
            }
            else
            {
                try
                {
                    CronSchedule.Parse(cron, dayOr);
                }
                catch (CronFormatException)
                {
                    s.Error("cron", $"Invalid cron string: \"{cron}\"", "value_error");
                }
            }
        }

        return new ScheduleBody(null, null, zone, cron, dayOr, null);
    }

    /// <summary>An rrule must parse and produce at least one date: one that never fires is refused.</summary>
    private static void CheckRRule(JsonObjectReader s, string rule, string zone)
    {
        try
        {
            if (!RRuleSchedule.Parse(rule, zone).GetOccurrences().Any())
            {
                s.Error("rrule", $"Invalid RRule string \"{rule}\": it never produces a date", "value_error");
            }
        }
        catch (FormatException error)
        {
            s.Error("rrule", $"Invalid RRule string \"{rule}\": {error.Message}", "value_error");
        }
    }

    private static string? ZoneOf(JsonObjectReader s)
    {
        string? zone = s.String("timezone");
        if (zone is not null && Schedule.FindZone(zone) is null)
        {
            s.Error("timezone", $"Invalid timezone: \"{zone}\"", "value_error");
        }

        return zone;
    }

    /// <summary>
    /// The schedule as it is stored and answered: an interval in seconds with its anchor (the request's
    /// instant when none was sent) and time zone; a cron string with its zone and day_or; an rrule with its zone.
    /// </summary>
    public RawJson ToStored(DateTime now)
    {
        var node = new JsonObject();
        if (IntervalSeconds is { } seconds)
        {
            node["interval"] = seconds;
            node["anchor_date"] = FormatOffset(AnchorDate ?? new DateTimeOffset(now, TimeSpan.Zero));
            node["timezone"] = Timezone ?? "UTC";
        }
        else if (Cron is not null)
        {
            node["cron"] = Cron;
            node["timezone"] = Timezone;
            node["day_or"] = DayOr;
        }
        else
        {
            node["rrule"] = RRule;
            node["timezone"] = Timezone ?? "UTC";
        }

        return new RawJson(node.ToJsonString());
    }

    private static string FormatOffset(DateTimeOffset value) =>
        value.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture);
}
