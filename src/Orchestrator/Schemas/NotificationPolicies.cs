using Orchestrator.Data;
using Orchestrator.Orchestration.Notifications;
using Orchestrator.Schemas.Validation;

namespace Orchestrator.Schemas;

public sealed record FlowRunNotificationPolicyResponse(
    Guid Id, DateTime Created, DateTime Updated, bool IsActive, List<string> StateNames, List<string> Tags, Guid BlockDocumentId, string? MessageTemplate);

/// <summary>Reads and checks a policy's <c>message_template</c>.</summary>
public static class MessageTemplateBody
{
    public static string? Read(JsonObjectReader r)
    {
        string? template = r.String("message_template");
        if (template is not null && MessageTemplates.Problem(template) is { } problem)
        {
            r.Error("message_template", problem, "value_error");
        }

        return template;
    }
}

public sealed record FlowRunNotificationPolicyCreate(bool IsActive, List<string> StateNames, List<string> Tags, Guid BlockDocumentId, string? MessageTemplate)
    : IRequestBody<FlowRunNotificationPolicyCreate>
{
    public static FlowRunNotificationPolicyCreate Read(JsonObjectReader r) => new(
        r.Bool("is_active", nullable: false) ?? true,
        r.StringList("state_names", nullable: false) ?? [],
        r.StringList("tags", nullable: false) ?? [],
        r.Uuid("block_document_id", required: true) ?? Guid.Empty,
        MessageTemplateBody.Read(r));
}

/// <summary>Only the keys present are written.</summary>
public sealed record FlowRunNotificationPolicyUpdate(bool? IsActive, List<string>? StateNames, List<string>? Tags, Guid? BlockDocumentId, string? MessageTemplate)
    : IRequestBody<FlowRunNotificationPolicyUpdate>
{
    public IReadOnlySet<string> Sent { get; private init; } = new HashSet<string>();

    public static FlowRunNotificationPolicyUpdate Read(JsonObjectReader r)
    {
        string[] keys = ["is_active", "state_names", "tags", "block_document_id", "message_template"];
        return new FlowRunNotificationPolicyUpdate(
            r.Bool("is_active", nullable: false),
            r.StringList("state_names", nullable: false),
            r.StringList("tags", nullable: false),
            r.Uuid("block_document_id", nullable: false),
            MessageTemplateBody.Read(r))
        {
            Sent = keys.Where(r.Has).ToHashSet(),
        };
    }
}

/// <summary>
/// The filter body. 2.7.0's quirk is kept: without a filter object every policy is listed; with one, its
/// <c>is_active.eq_</c> defaults to false, and an explicit null lists all.
/// </summary>
public sealed record FlowRunNotificationPolicyFilterRequest(bool? IsActive, Paging Paging) : IRequestBody<FlowRunNotificationPolicyFilterRequest>
{
    public static bool ForbidsExtraKeys => false;

    public static FlowRunNotificationPolicyFilterRequest Read(JsonObjectReader r)
    {
        bool? isActive = null;
        r.Nested("flow_run_notification_policy_filter", f =>
        {
            isActive = false;
            if (f.Has("is_active"))
            {
                isActive = f.Nested("is_active", a => new Box(a.Bool("eq_")), forbidExtra: true)?.Value;
            }

            return f;
        }, forbidExtra: true);
        return new FlowRunNotificationPolicyFilterRequest(isActive, Paging.Read(r));
    }

    private sealed record Box(bool? Value);
}

public static class NotificationPolicyMapping
{
    public static FlowRunNotificationPolicyResponse ToResponse(this FlowRunNotificationPolicy p) =>
        new(p.Id, p.Created, p.Updated, p.IsActive, p.StateNames, p.Tags, p.BlockDocumentId, p.MessageTemplate);
}
