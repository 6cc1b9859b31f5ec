using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Orchestration.Rules;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;
using static Orchestrator.Tests.Infrastructure.Scenarios;

namespace Orchestrator.Tests.Orchestration.Rules;

/// <summary>RetryFailedTasks (TRETRY): failed task runs with retries left are rescheduled.</summary>
public abstract class RetryFailedTasksTests(DatabaseKind database)
{
    [Theory]
    [InlineData(2, 2, "REJECT", "SCHEDULED")]
    [InlineData(3, 2, "ACCEPT", "FAILED")]
    [InlineData(1, 0, "ACCEPT", "FAILED")]
    public async Task TRETRY_01_02_03_FailedTask_IsRetriedWhileRunCountIsWithinRetries(int runCount, int retries, string status, string type)
    {
        await using var app = await TestApp.StartAsync(database);
        Guid task = await app.RunInStateAsync("task", new { type = "RUNNING" }, new { empirical_policy = new { retries } });
        await app.UpdateTaskRunAsync(task, r => r.RunCount = runCount);

        var (_, result) = await app.SetTaskRunStateAsync(task, new { type = "FAILED" });

        result.Str("status").Should().Be(status);
        result!["state"].Str("type").Should().Be(type);
    }
}

public sealed class RetryFailedTasksTestsOnSqlite() : RetryFailedTasksTests(DatabaseKind.Sqlite);

public sealed class RetryFailedTasksTestsOnPostgres() : RetryFailedTasksTests(DatabaseKind.Postgres);
