using System.Text;

namespace Orchestrator.Orchestration.Notifications;

/// <summary>
/// A notification's message template: <c>{name}</c> placeholders from a fixed set, <c>{{</c> and <c>}}</c>
/// for literal braces, as Python's <c>str.format</c> reads them in 2.7.0.
/// </summary>
public static class MessageTemplates
{
    public static readonly IReadOnlySet<string> Placeholders = new HashSet<string>(StringComparer.Ordinal)
    {
        "flow_run_notification_policy_id", "flow_id", "flow_name", "flow_run_url", "flow_run_id", "flow_run_name",
        "flow_run_parameters", "flow_run_state_type", "flow_run_state_name", "flow_run_state_timestamp", "flow_run_state_message",
    };

    public const string Default =
        "\nFlow run {flow_name}/{flow_run_name} entered state `{flow_run_state_name}` at {flow_run_state_timestamp}.\n\n" +
        "Flow ID: {flow_id}\nFlow run ID: {flow_run_id}\nFlow run URL: {flow_run_url}\nState message: {flow_run_state_message}\n";

    /// <summary>What is wrong with the template, or null when it renders.</summary>
    public static string? Problem(string template) => Render(template, _ => "", out string? problem) is null ? problem : null;

    /// <summary>The template with each placeholder replaced; null (and the problem) when it is malformed.</summary>
    public static string? Render(string template, Func<string, string> value, out string? problem)
    {
        var text = new StringBuilder();
        problem = null;
        for (int i = 0; i < template.Length; i++)
        {
            char c = template[i];
            if (c == '{' && i + 1 < template.Length && template[i + 1] == '{')
            {
                text.Append('{');
                i++;
            }
            else if (c == '}' && i + 1 < template.Length && template[i + 1] == '}')
            {
                text.Append('}');
                i++;
            }
            else if (c == '{')
            {
                int close = template.IndexOf('}', i + 1);
                if (close < 0)
                {
                    problem = "expected '}' before end of string";
                    return null;
                }

                string name = template[(i + 1)..close];
                if (!Placeholders.Contains(name))
                {
                    problem = $"Invalid template variable provided: '{name}'";
                    return null;
                }

                text.Append(value(name));
                i = close;
            }
            else if (c == '}')
            {
                problem = "Single '}' encountered in format string";
                return null;
            }
            else
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }
}
