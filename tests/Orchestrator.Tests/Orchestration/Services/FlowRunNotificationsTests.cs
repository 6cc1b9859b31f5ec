using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Orchestration.Services;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Orchestration.Services;

/// <summary>
/// Notification policies, what they queue, and the service that sends it (server-services.md §9), with a
/// local HTTP listener standing in for the webhook.
/// </summary>
public abstract class FlowRunNotificationsTests(DatabaseKind database)
{
    /// <summary>A webhook on a free loopback port that records every body it receives.</summary>
    protected sealed class Receiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _serving;
        private int _failuresLeft;

        public Receiver(int failFirst = 0)
        {
            _failuresLeft = failFirst;
            int port = FreePort();
            Url = $"http://127.0.0.1:{port}/hook";
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            _serving = Task.Run(ServeAsync);
        }

        public string Url { get; }

        public ConcurrentQueue<JsonNode> Received { get; } = new();

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception error) when (error is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using var reader = new StreamReader(context.Request.InputStream);
                string body = await reader.ReadToEndAsync();
                if (Interlocked.Decrement(ref _failuresLeft) >= 0)
                {
                    context.Response.StatusCode = 500;
                }
                else
                {
                    Received.Enqueue(JsonNode.Parse(body)!);
                    context.Response.StatusCode = 200;
                }

                context.Response.Close();
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
        }

        private static int FreePort()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            return port;
        }
    }

    protected static async Task<Guid> WebhookBlockAsync(TestApp app, string url)
    {
        var (_, type) = await app.PostAsync("/api/block_types/", new { name = "Slack Webhook", slug = "slack-webhook" });
        var (_, schema) = await app.PostAsync("/api/block_schemas/", new
        {
            fields = new { title = "SlackWebhook", type = "object", properties = new { url = new { type = "string" } } },
            block_type_id = IdOf(type), capabilities = new[] { "notify" },
        });
        var (status, document) = await app.PostAsync("/api/block_documents/", new
        {
            name = "hook", data = new { url }, block_schema_id = IdOf(schema), block_type_id = IdOf(type),
        });
        status.Should().Be(201);
        return IdOf(document);
    }

    protected static async Task<Guid> PolicyAsync(TestApp app, Guid block, object? extra = null)
    {
        var body = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(extra ?? new { }))!.AsObject();
        body["block_document_id"] = block.ToString();
        var (status, policy) = await app.PostAsync("/api/flow_run_notification_policies/", body.ToJsonString());
        status.Should().Be(201);
        return IdOf(policy);
    }

    protected static Task<int> QueuedAsync(TestApp app) => app.WithDbAsync(db => db.FlowRunNotifications.CountAsync());

    [Fact]
    public async Task Policies_AreCreatedReadPatchedFilteredAndDeleted()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid block = await WebhookBlockAsync(app, "http://127.0.0.1:9/hook");
        Guid active = await PolicyAsync(app, block, new { state_names = new[] { "Completed" } });
        Guid inactive = await PolicyAsync(app, block, new { is_active = false });

        var read = (await app.GetAsync($"/api/flow_run_notification_policies/{active}")).Body;
        (await app.PatchAsync($"/api/flow_run_notification_policies/{active}", new { tags = new[] { "prod" } })).Status.Should().Be(204);
        var patched = (await app.GetAsync($"/api/flow_run_notification_policies/{active}")).Body;
        var all = (await app.PostAsync("/api/flow_run_notification_policies/filter", new { })).Body!.AsArray();
        var onlyInactive = (await app.PostAsync("/api/flow_run_notification_policies/filter", new { flow_run_notification_policy_filter = new { } })).Body!.AsArray();

        read!["is_active"]!.GetValue<bool>().Should().BeTrue();
        patched!["state_names"]!.AsArray().Select(n => n!.ToString()).Should().Equal("Completed");
        patched["tags"]!.AsArray().Select(n => n!.ToString()).Should().Equal("prod");
        all.Should().HaveCount(2);
        onlyInactive.Select(p => IdOf(p)).Should().Equal(inactive);
        (await app.DeleteAsync($"/api/flow_run_notification_policies/{active}")).Status.Should().Be(204);
        (await app.GetAsync($"/api/flow_run_notification_policies/{active}")).Status.Should().Be(404);
    }

    [Theory]
    [InlineData("""{"block_document_id": "00000000-0000-0000-0000-000000000001"}""", 409)]
    [InlineData("""{"message_template": "{nope}"}""", 422)]
    [InlineData("""{"message_template": "unbalanced {flow_name"}""", 422)]
    [InlineData("""{"state_names": null}""", 422)]
    public async Task BadPolicies_AreRefused(string body, int expected)
    {
        await using var app = await TestApp.StartAsync(database);
        Guid block = await WebhookBlockAsync(app, "http://127.0.0.1:9/hook");
        var sent = JsonNode.Parse(body)!.AsObject();
        if (!sent.ContainsKey("block_document_id"))
        {
            sent["block_document_id"] = block.ToString();
        }

        (await app.PostAsync("/api/flow_run_notification_policies/", sent.ToJsonString())).Status.Should().Be(expected);
    }

    [Fact]
    public async Task StateChanges_QueueANotificationPerMatchingActivePolicy_AndAbortedProposalsNone()
    {
        await using var app = await TestApp.StartAsync(database);
        Guid block = await WebhookBlockAsync(app, "http://127.0.0.1:9/hook");
        await PolicyAsync(app, block, new { state_names = new[] { "Completed" } });
        await PolicyAsync(app, block, new { state_names = new[] { "Completed" }, tags = new[] { "other" } });
        await PolicyAsync(app, block, new { state_names = new[] { "Completed" }, is_active = false });
        Guid run = IdOf(await app.CreateFlowRunAsync());

        await app.SetFlowRunStateAsync(run, new { type = "RUNNING" });
        int afterRunning = await QueuedAsync(app);
        await app.SetFlowRunStateAsync(run, new { type = "COMPLETED" });
        await app.SetFlowRunStateAsync(run, new { type = "RUNNING" });

        afterRunning.Should().Be(0);
        (await QueuedAsync(app)).Should().Be(1, "one matching active policy; the aborted proposal queues nothing");
    }

    [Fact]
    public async Task AStateChangeRolledBack_QueuesNothing()
    {
        await using var app = await TestApp.StartAsync(database, new ManualClock());
        Guid block = await WebhookBlockAsync(app, "http://127.0.0.1:9/hook");
        await PolicyAsync(app, block);
        Guid run = IdOf(await app.CreateFlowRunAsync());
        int queuedAtCreation = await QueuedAsync(app);
        var before = await app.FlowRunAsync(run);
        // Occupy the key of the run's next state, so the transition's write fails and is rolled back.
        await app.WithDbAsync(async db =>
        {
            DateTime next = before.StateTimestamp!.Value.AddTicks(10);
            db.FlowRunStates.Add(Orchestrator.Data.FlowRunState.From(
                Scenarios.Proposal(Orchestrator.Data.StateType.Paused) with { Id = Guid.NewGuid(), Timestamp = next }, run, next));
            await db.SaveChangesAsync();
        });

        var (_, result) = await app.SetFlowRunStateAsync(run, new { type = "RUNNING" });

        result.Str("status").Should().Be("ABORT");
        queuedAtCreation.Should().Be(1, "the initial PENDING state matched the catch-all policy");
        (await QueuedAsync(app)).Should().Be(1, "the notification of the rolled-back RUNNING state went with it");
    }

    [Fact]
    public async Task ADeliveryThatKeepsFailing_IsGivenUpAfterTheLastAttempt()
    {
        using var receiver = new Receiver(failFirst: int.MaxValue);
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock, settings: new() { ["Services:Notifications:MaxAttempts"] = "2" });
        Guid block = await WebhookBlockAsync(app, receiver.Url);
        await PolicyAsync(app, block);
        await app.CreateFlowRunAsync();
        var service = app.Service<FlowRunNotifications>();

        await service.RunCycleAsync(CancellationToken.None);
        int afterFirst = await QueuedAsync(app);
        clock.Advance(TimeSpan.FromSeconds(11));
        await service.RunCycleAsync(CancellationToken.None);

        afterFirst.Should().Be(1, "a failed delivery is kept for another attempt");
        (await QueuedAsync(app)).Should().Be(0, "after the last attempt it is given up (with an error in the log)");
        receiver.Received.Should().BeEmpty();
    }

    [Fact]
    public async Task TheService_PostsTheSlackPayloadWithTheDefaultMessage_AndEmptiesTheQueue()
    {
        using var receiver = new Receiver();
        await using var app = await TestApp.StartAsync(database);
        Guid block = await WebhookBlockAsync(app, receiver.Url);
        await PolicyAsync(app, block, new { state_names = new[] { "Completed" } });
        Guid flow = await app.CreateFlowAsync("notified-flow");
        Guid run = IdOf(await app.CreateFlowRunAsync(flow, extra: new { name = "loud-run", parameters = new { x = 1, y = "s" } }));
        await app.SetFlowRunStateAsync(run, new { type = "RUNNING" });
        await app.SetFlowRunStateAsync(run, new { type = "COMPLETED", message = "all done" });

        int sent = await app.Service<FlowRunNotifications>().RunCycleAsync(CancellationToken.None);

        sent.Should().Be(1);
        (await QueuedAsync(app)).Should().Be(0);
        var payload = receiver.Received.Single();
        payload.Str("username").Should().Be("Prefect Notifications");
        var attachment = payload["attachments"]![0]!;
        attachment.Str("title").Should().Be("Prefect flow run notification");
        string text = attachment.Str("text")!;
        text.Should().StartWith("\nFlow run notified-flow/loud-run entered state `Completed` at ");
        text.Should().Contain($"Flow run ID: {run}").And.Contain("State message: all done").And.Contain($"/flow-runs/flow-run/{run}");
    }

    [Fact]
    public async Task AFailedDelivery_IsRetriedLater_NotLost()
    {
        using var receiver = new Receiver(failFirst: 1);
        var clock = new ManualClock();
        await using var app = await TestApp.StartAsync(database, clock);
        Guid block = await WebhookBlockAsync(app, receiver.Url);
        await PolicyAsync(app, block, new { message_template = "{flow_run_name} is {flow_run_state_type} {{literally}}" });
        await app.CreateFlowRunAsync(extra: new { name = "retried" });
        var service = app.Service<FlowRunNotifications>();

        int first = await service.RunCycleAsync(CancellationToken.None);
        int tooSoon = await service.RunCycleAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(11));
        int second = await service.RunCycleAsync(CancellationToken.None);

        (first, tooSoon, second).Should().Be((0, 0, 1));
        receiver.Received.Single()["attachments"]![0].Str("text").Should().Be("retried is StateType.PENDING {literally}");
        (await QueuedAsync(app)).Should().Be(0);
    }
}

public sealed class FlowRunNotificationsTestsOnSqlite() : FlowRunNotificationsTests(DatabaseKind.Sqlite)
{
    [Fact]
    public async Task OnTheRealClock_TheServiceDeliversWithinSeconds()
    {
        using var receiver = new Receiver();
        await using var app = await TestApp.StartAsync(DatabaseKind.Sqlite, settings: new()
        {
            ["Services:Notifications:Enabled"] = "true",
            ["Services:Notifications:LoopSeconds"] = "0.2",
        }, realHttp: true);
        Guid block = await WebhookBlockAsync(app, receiver.Url);
        await PolicyAsync(app, block);

        await app.CreateFlowRunAsync();

        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (receiver.Received.IsEmpty && watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(100);
        }

        receiver.Received.Should().ContainSingle();
    }
}

public sealed class FlowRunNotificationsTestsOnPostgres() : FlowRunNotificationsTests(DatabaseKind.Postgres)
{
    [Fact]
    public async Task TwoInstances_DeliverEachNotificationOnce()
    {
        using var receiver = new Receiver();
        await using var first = await TestApp.StartAsync(DatabaseKind.Postgres);
        await using var second = TestApp.StartAnotherInstance(first);
        Guid block = await WebhookBlockAsync(first, receiver.Url);
        await PolicyAsync(first, block, new { message_template = "{flow_run_id}" });
        for (int i = 0; i < 12; i++)
        {
            await first.CreateFlowRunAsync();
        }

        var sent = await Task.WhenAll(
            first.Service<FlowRunNotifications>().RunCycleAsync(CancellationToken.None),
            second.Service<FlowRunNotifications>().RunCycleAsync(CancellationToken.None));

        sent.Sum().Should().Be(12);
        receiver.Received.Select(r => r["attachments"]![0].Str("text")).Should().HaveCount(12).And.OnlyHaveUniqueItems();
    }
}
