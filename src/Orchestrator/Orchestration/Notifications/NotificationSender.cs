using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Orchestration.Notifications;

/// <summary>What a notification says, and the block document that says where it goes.</summary>
public sealed record NotificationMessage(string Subject, string Body);

/// <summary>
/// Delivers a notification through its block the way 2.7.0's webhook blocks do: <c>slack-webhook</c> and
/// <c>ms-teams-webhook</c> POST JSON to the document's <c>url</c> (Slack's attachment payload, or for an
/// Apprise <c>json://</c> / <c>jsons://</c> URL the generic JSON payload to the plain HTTP(S) address).
/// Other block types cannot be delivered by this server: that is an error, not a silent drop.
/// </summary>
public sealed class NotificationSender(IHttpClientFactory clients, TimeProvider time)
{
    public static readonly IReadOnlySet<string> SupportedBlockTypes = new HashSet<string>(StringComparer.Ordinal) { "slack-webhook", "ms-teams-webhook" };

    /// <summary>Sends the message; throws when the block cannot be delivered to or the receiver refuses it.</summary>
    public async Task SendAsync(string blockTypeSlug, JsonNode? data, NotificationMessage message, CancellationToken cancellationToken)
    {
        if (!SupportedBlockTypes.Contains(blockTypeSlug))
        {
            throw new NotSupportedException($"Notifications through \"{blockTypeSlug}\" blocks are not supported; use a slack-webhook or ms-teams-webhook block.");
        }

        string url = data?["url"]?.GetValue<string>() ?? throw new InvalidOperationException("The notification block has no url.");
        using HttpClient http = clients.CreateClient(nameof(NotificationSender));
        string body = message.Body.TrimEnd();
        HttpResponseMessage response;
        if (url.StartsWith("json://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("jsons://", StringComparison.OrdinalIgnoreCase))
        {
            string target = (url.StartsWith("jsons", StringComparison.OrdinalIgnoreCase) ? "https://" : "http://") + url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..];
            response = await http.PostAsJsonAsync(target, new JsonObject
            {
                ["version"] = "1.0",
                ["title"] = message.Subject,
                ["message"] = body,
                ["attachments"] = new JsonArray(),
                ["type"] = data?["notify_type"]?.GetValue<string>() ?? "prefect_default",
            }, cancellationToken);
        }
        else
        {
            var request = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = JsonContent.Create(new JsonObject
                {
                    ["username"] = "Prefect Notifications",
                    ["mrkdwn"] = true,
                    ["attachments"] = new JsonArray(new JsonObject
                    {
                        ["title"] = message.Subject,
                        ["text"] = body,
                        ["color"] = null,
                        ["ts"] = time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0,
                        ["footer"] = "Prefect Notifications",
                    }),
                }),
            };
            request.Headers.UserAgent.ParseAdd("Prefect-Notifications");
            response = await http.SendAsync(request, cancellationToken);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"The receiver answered {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);
            }
        }
    }

    /// <summary>Python's repr of a parameters object, as 2.7.0 prints <c>{flow_run_parameters}</c>.</summary>
    public static string PythonRepr(JsonNode? node) => node switch
    {
        null => "None",
        JsonObject o => "{" + string.Join(", ", o.Select(p => $"'{p.Key}': {PythonRepr(p.Value)}")) + "}",
        JsonArray a => "[" + string.Join(", ", a.Select(PythonRepr)) + "]",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => $"'{v.GetValue<string>()}'",
        JsonValue v when v.GetValueKind() == JsonValueKind.True => "True",
        JsonValue v when v.GetValueKind() == JsonValueKind.False => "False",
        _ => node.ToJsonString(),
    };
}
