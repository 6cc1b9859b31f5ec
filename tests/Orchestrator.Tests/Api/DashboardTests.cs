using OpenQA.Selenium;
using Orchestrator.Api.Security;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Api;

/// <summary>The dashboard in a real headless Chromium: runs made through the API, checked on the page.</summary>
public abstract class DashboardTests(DatabaseKind database)
{
    private static Uri Page(TestApp app, string hash) => new(app.Client.BaseAddress!, $"/ui/#{hash}");

    [Fact]
    public async Task AFlowRunsPage_ShowsItsStateHistory_AndAFailedTasksBar_WithItsRetries()
    {
        await using var app = await TestApp.StartAsync(database, realHttp: true);
        Guid flow = await app.CreateFlowAsync("etl");
        Guid run = IdOf(await app.CreateFlowRunAsync(flow, extra: new { name = "nightly-etl" }));
        await app.SetFlowRunStateAsync(run, new { type = "RUNNING" });
        Guid extract = IdOf(await app.CreateTaskRunAsync(run, extra: new { name = "extract" }, taskKey: "extract"));
        await app.SetTaskRunStateAsync(extract, new { type = "RUNNING" });
        await app.SetTaskRunStateAsync(extract, new { type = "COMPLETED" });
        Guid load = IdOf(await app.CreateTaskRunAsync(run, extra: new { name = "load", empirical_policy = new { retries = 1, retry_delay = 0 } }, taskKey: "load"));
        await app.SetTaskRunStateAsync(load, new { type = "RUNNING" });
        await app.SetTaskRunStateAsync(load, new { type = "FAILED" });
        await app.SetTaskRunStateAsync(load, new { type = "RUNNING" });
        await app.SetTaskRunStateAsync(load, new { type = "FAILED", message = "disk full" });
        await app.SetFlowRunStateAsync(run, new { type = "FAILED" });
        using var browser = new Browser();

        browser.Open(Page(app, $"/runs/{run}"));
        browser.WaitFor($"[data-task-id='{load}'] .bar");
        var (failedClass, failedLabel, doneClass, timeline) = browser.Read(d => (
            d.FindElement(By.CssSelector($"[data-task-id='{load}'] .bar")).GetAttribute("class"),
            d.FindElement(By.CssSelector($"[data-task-id='{load}'] .label")).Text,
            d.FindElement(By.CssSelector($"[data-task-id='{extract}'] .bar")).GetAttribute("class"),
            d.FindElement(By.Id("timeline")).Text));
        browser.Screenshot($"flow-run-{database}");

        failedClass.Should().Contain("FAILED");
        failedLabel.Should().Contain("Failed").And.Contain("2 runs");
        doneClass.Should().Contain("COMPLETED");
        timeline.Should().ContainAll("Pending", "Running", "Failed");
    }

    [Fact]
    public async Task TheRunsList_MarksLateRuns_AndFiltersByState()
    {
        await using var app = await TestApp.StartAsync(database, realHttp: true);
        Guid late = IdOf(await app.CreateFlowRunAsync(extra: new { name = "overdue-report" }, state: new { type = "SCHEDULED", name = "Late", state_details = new { scheduled_time = Iso(DateTime.UtcNow.AddMinutes(-30)) } }));
        Guid done = IdOf(await app.CreateFlowRunAsync(extra: new { name = "finished-report" }, state: new { type = "COMPLETED" }));
        using var browser = new Browser();

        browser.Open(Page(app, "/runs"));
        browser.WaitFor($"tr[data-run-id='{done}']");
        var (lateClass, lateText) = browser.Read(d => (
            d.FindElement(By.CssSelector($"tr[data-run-id='{late}']")).GetAttribute("class"),
            d.FindElement(By.CssSelector($"tr[data-run-id='{late}']")).Text));
        browser.Screenshot($"flow-runs-{database}");
        lateClass.Should().Contain("late");
        lateText.Should().Contain("Late");

        browser.Driver.FindElement(By.CssSelector("select[name=state] option[value=LATE]")).Click();
        browser.TextOf("#runs", text => !text.Contains("finished-report", StringComparison.Ordinal)).Should().Contain("overdue-report");
    }

    [Fact]
    public async Task AFullLimit_ShowsTheTaskRunsHoldingItsSlots()
    {
        await using var app = await TestApp.StartAsync(database, realHttp: true);
        await app.CreateLimitAsync("gpu", 2);
        var holders = new List<Guid>();
        for (int i = 0; i < 2; i++)
        {
            holders.Add(IdOf(await app.CreateTaskRunAsync(extra: new { name = $"train-{i}", tags = new[] { "gpu" } })));
            await app.SetTaskRunStateAsync(holders[i], new { type = "RUNNING" });
        }

        using var browser = new Browser();
        browser.Open(Page(app, "/limits"));
        browser.WaitFor("tr[data-tag='gpu']", r => r.FindElements(By.CssSelector(".holder")).Count == 2);
        var (text, held) = browser.Read(d => (
            d.FindElement(By.CssSelector("tr[data-tag='gpu']")).Text,
            d.FindElements(By.CssSelector("tr[data-tag='gpu'] .holder")).Select(h => Guid.Parse(h.GetAttribute("data-task-id")!)).ToList()));
        browser.Screenshot($"concurrency-limits-{database}");

        text.Should().Contain("2 of 2 (full)").And.Contain("train-0").And.Contain("train-1");
        held.Should().BeEquivalentTo(holders);
    }

    [Fact]
    public async Task WithKeysConfigured_ThePageAsksForAKey_AndThenShowsTheRuns()
    {
        await using var app = await TestApp.StartAsync(database, realHttp: true, settings: new()
        {
            ["Auth:ApiKeys:0:Sha256"] = ApiKeyRing.Hash("dashboard-key"),
            ["Auth:ApiKeys:0:Scope"] = "read",
        });
        using var browser = new Browser();

        browser.Open(Page(app, "/runs"));
        var key = browser.WaitFor("#key", input => input.Displayed);
        browser.Screenshot($"asks-for-a-key-{database}");
        key.SendKeys("dashboard-key");
        browser.Driver.FindElement(By.CssSelector("#key-form button")).Click();

        browser.WaitFor("#runs-table", table => table.Text.Contains("No flow runs", StringComparison.Ordinal));
        browser.Driver.FindElement(By.Id("key-form")).Displayed.Should().BeFalse();
    }

    [Fact]
    public async Task DeploymentsShowTheirNextRuns_AndQueuesTheRunsWaitingOnThem()
    {
        await using var app = await TestApp.StartAsync(database, realHttp: true);
        Guid flow = await app.CreateFlowAsync("reports");
        await app.PostAsync("/api/work_queues/", new { name = "reporting" });
        var (_, deployment) = await app.PostAsync("/api/deployments/", new { name = "hourly", flow_id = flow, work_queue_name = "reporting", schedule = new { interval = 3600 } });
        var (_, created) = await app.PostAsync($"/api/deployments/{IdOf(deployment)}/create_flow_run", new
        {
            name = "next-report",
            state = new { type = "SCHEDULED", state_details = new { scheduled_time = Iso(DateTime.UtcNow.AddHours(1)) } },
        });
        Guid next = IdOf(created);
        using var browser = new Browser();

        browser.Open(Page(app, "/deployments"));
        string row = browser.TextOf("tr[data-deployment='hourly']", text => text.Contains("Scheduled", StringComparison.Ordinal));
        browser.WaitFor($"tr[data-deployment='hourly'] a[href='#/runs/{next}']");
        browser.Screenshot($"deployments-{database}");
        browser.Open(Page(app, "/queues"));
        string queue = browser.TextOf("tr[data-queue='reporting']", text => text.Contains("next-report", StringComparison.Ordinal));
        browser.Screenshot($"work-queues-{database}");

        row.Should().Contain("reports/hourly").And.Contain("reporting");
        queue.Should().Contain("Scheduled");
    }
}

public sealed class DashboardTestsOnSqlite() : DashboardTests(DatabaseKind.Sqlite);

public sealed class DashboardTestsOnPostgres() : DashboardTests(DatabaseKind.Postgres);
