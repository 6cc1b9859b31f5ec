using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Api;

public abstract class DeploymentsApiTests(DatabaseKind database)
{
    [Fact]
    public async Task API_DP_01_UpsertDeployment_CreatesThenOverwritesByFlowAndName()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowId = await app.CreateFlowAsync();
        DateTime before = DateTime.UtcNow.AddSeconds(-1);
        var body = new { name = "my-deployment", flow_id = flowId, tags = new[] { "a" }, description = "first", parameters = new { x = 1 } };

        var (created, first) = await app.PostAsync("/api/deployments/", body);
        var (same, second) = await app.PostAsync("/api/deployments/", body);
        var (changed, third) = await app.PostAsync("/api/deployments/", new { name = "my-deployment", flow_id = flowId, is_schedule_active = false });

        created.Should().Be(201);
        DateTime.Parse(first.Str("created")!).ToUniversalTime().Should().BeAfter(before);
        same.Should().Be(200);
        second.Str("id").Should().Be(first.Str("id"));
        second.Str("description").Should().Be("first");
        changed.Should().Be(200);
        third.Str("id").Should().Be(first.Str("id"));
        third!["is_schedule_active"]!.GetValue<bool>().Should().BeFalse();
        third.Str("description").Should().BeNull("keys left out are written with their defaults");
        third["tags"]!.AsArray().Should().BeEmpty();
    }

    [Fact]
    public async Task API_DP_02_UpsertDeployment_Returns409_ForUnknownBlockDocuments()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowId = await app.CreateFlowAsync();

        var (infrastructure, body) = await app.PostAsync("/api/deployments/", new { name = "d", flow_id = flowId, infrastructure_document_id = Guid.NewGuid() });
        var (storage, storageBody) = await app.PostAsync("/api/deployments/", new { name = "d", flow_id = flowId, storage_document_id = Guid.NewGuid() });

        infrastructure.Should().Be(409);
        body.Str("detail").Should().Contain("Could not find infrastructure block with id");
        storage.Should().Be(409);
        storageBody.Str("detail").Should().Contain("Could not find storage block with id");
    }

    [Theory]
    [InlineData("my deployment")]
    [InlineData("my:deployment")]
    [InlineData("my\\deployment")]
    [InlineData("my|deployment")]
    [InlineData("my👍deployment")]
    public async Task API_DP_03_ReadDeployment_ByIdAndByFlowAndDeploymentName(string name)
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowId = await app.CreateFlowAsync("my flow");
        var (_, deployment) = await app.PostAsync("/api/deployments/", new { name, flow_id = flowId });

        var (byId, read) = await app.GetAsync($"/api/deployments/{IdOf(deployment)}");
        var (byName, named) = await app.GetAsync($"/api/deployments/name/{Uri.EscapeDataString("my flow")}/{Uri.EscapeDataString(name)}");
        var (oneSegment, _) = await app.GetAsync($"/api/deployments/name/{Uri.EscapeDataString(name)}");
        var (missing, body) = await app.GetAsync($"/api/deployments/{Guid.NewGuid()}");

        byId.Should().Be(200);
        read.Str("name").Should().Be(name);
        byName.Should().Be(200);
        named.Str("id").Should().Be(deployment.Str("id"));
        oneSegment.Should().Be(404);
        missing.Should().Be(404);
        body.Str("detail").Should().Be("Deployment not found");
    }

    [Fact]
    public async Task API_DP_03_UpsertDeployment_Refuses_NamesWithSlashOrPercent()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowId = await app.CreateFlowAsync();

        (await app.PostAsync("/api/deployments/", new { name = "my/deployment", flow_id = flowId })).Status.Should().Be(422);
        (await app.PostAsync("/api/deployments/", new { name = "my%deployment", flow_id = flowId })).Status.Should().Be(422);
    }

    [Fact]
    public async Task API_DP_04_DeleteDeployment_RemovesItAndItsScheduledRuns_KeepsOthers()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowId = await app.CreateFlowAsync();
        var (_, deployment) = await app.PostAsync("/api/deployments/", new { name = "d", flow_id = flowId });
        Guid deploymentId = IdOf(deployment);
        var scheduled = await app.CreateFlowRunAsync(flowId, extra: new { deployment_id = deploymentId },
            state: new { type = "SCHEDULED", state_details = new { scheduled_time = Iso(DateTime.UtcNow.AddHours(1)) } });
        var finished = await app.CreateFlowRunAsync(flowId, extra: new { deployment_id = deploymentId }, state: new { type = "COMPLETED" });

        var (deleted, _) = await app.DeleteAsync($"/api/deployments/{deploymentId}");
        var (gone, _) = await app.GetAsync($"/api/deployments/{deploymentId}");
        var (again, _) = await app.DeleteAsync($"/api/deployments/{deploymentId}");
        var (scheduledGone, _) = await app.GetAsync($"/api/flow_runs/{IdOf(scheduled)}");
        var kept = await app.ReadAsync("flow", IdOf(finished));

        deleted.Should().Be(204);
        gone.Should().Be(404);
        again.Should().Be(404);
        scheduledGone.Should().Be(404);
        kept["deployment_id"].Should().BeNull();
    }

    [Fact]
    public async Task API_DP_05_06_CreateFlowRunFromDeployment_MergesParametersAndTags()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowId = await app.CreateFlowAsync();
        var (_, deployment) = await app.PostAsync("/api/deployments/", new
        {
            name = "d",
            flow_id = flowId,
            tags = new[] { "test" },
            parameters = new { foo = "bar", keep = 1 },
            work_queue_name = "wq",
        });
        Guid id = IdOf(deployment);

        var (plain, run) = await app.PostAsync($"/api/deployments/{id}/create_flow_run", new { });
        var (overridden, custom) = await app.PostAsync($"/api/deployments/{id}/create_flow_run", new { parameters = new { foo = "not_bar" }, tags = new[] { "nope" } });
        await app.PostAsync("/api/deployments/", new { name = "d", flow_id = flowId, work_queue_name = "wq-test" });
        var (_, afterUpdate) = await app.PostAsync($"/api/deployments/{id}/create_flow_run", new { });
        var (missing, _) = await app.PostAsync($"/api/deployments/{Guid.NewGuid()}/create_flow_run", new { });

        plain.Should().Be(201);
        run.Str("flow_id").Should().Be(flowId.ToString());
        run.Str("deployment_id").Should().Be(id.ToString());
        run.Str("work_queue_name").Should().Be("wq");
        run!["tags"]!.AsArray().Select(t => t!.GetValue<string>()).Should().Equal("test");
        run["parameters"]!.ToJsonString().Should().Be("{\"foo\":\"bar\",\"keep\":1}");
        run["state"].Str("type").Should().Be("PENDING");
        overridden.Should().Be(201);
        custom!["parameters"]!.ToJsonString().Should().Be("{\"foo\":\"not_bar\",\"keep\":1}");
        custom["tags"]!.AsArray().Select(t => t!.GetValue<string>()).Order().Should().Equal("nope", "test");
        afterUpdate.Str("work_queue_name").Should().Be("wq-test");
        missing.Should().Be(404);
    }

    [Fact]
    public async Task FilterDeployments_ByDeploymentAndFlow_SortedByName()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid flowId = await app.CreateFlowAsync("f");
        await app.PostAsync("/api/deployments/", new { name = "b", flow_id = flowId, tags = new[] { "x" } });
        await app.PostAsync("/api/deployments/", new { name = "a", flow_id = flowId, is_schedule_active = false });

        async Task<List<string?>> Names(object body) =>
            (await app.PostAsync("/api/deployments/filter", body)).Body!.AsArray().Select(d => d.Str("name")).ToList();

        (await Names(new { })).Should().Equal("a", "b");
        (await Names(new { sort = "NAME_DESC" })).Should().Equal("b", "a");
        (await Names(new { deployments = new { tags = new { all_ = new[] { "x" } } } })).Should().Equal("b");
        (await Names(new { deployments = new { is_schedule_active = new { eq_ = false } } })).Should().Equal("a");
        (await Names(new { flows = new { name = new { any_ = new[] { "other" } } } })).Should().BeEmpty();
        (await app.PostAsync("/api/deployments/count", new { })).Body!.GetValue<int>().Should().Be(2);
    }
}

public sealed class DeploymentsApiTestsOnSqlite() : DeploymentsApiTests(DatabaseKind.Sqlite);

public sealed class DeploymentsApiTestsOnPostgres() : DeploymentsApiTests(DatabaseKind.Postgres);
