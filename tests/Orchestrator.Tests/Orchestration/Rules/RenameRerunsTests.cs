using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Orchestration.Rules;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;
using static Orchestrator.Tests.Infrastructure.Scenarios;

namespace Orchestrator.Tests.Orchestration.Rules;

/// <summary>RenameReruns (RENAME): a run entering RUNNING again is named for what came before.</summary>
public abstract class RenameRerunsTests(DatabaseKind database)
{
    [Theory]
    [InlineData(2, "Scheduled", "Rerunning")]
    [InlineData(2, "AwaitingRetry", "Retrying")]
    [InlineData(0, "Scheduled", "Running")]
    public async Task RENAME_01_02_03_RunningAgain_IsRenamedByWhatCameBefore(int runCount, string initialName, string expected)
    {
        await using var app = await TestApp.StartAsync(database);
        Guid task = await app.RunInStateAsync("task", Scheduled(DateTime.UtcNow.AddSeconds(-1), initialName));
        await app.UpdateTaskRunAsync(task, r => r.RunCount = runCount);

        var (_, result) = await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });

        result.Str("status").Should().Be("ACCEPT");
        result!["state"].Str("name").Should().Be(expected);
    }
}

public sealed class RenameRerunsTestsOnSqlite() : RenameRerunsTests(DatabaseKind.Sqlite);

public sealed class RenameRerunsTestsOnPostgres() : RenameRerunsTests(DatabaseKind.Postgres);
