namespace Orchestrator.Api;

/// <summary>
/// Refuses clients older than API 0.8.0 and malformed <c>X-PREFECT-API-VERSION</c> headers, as the
/// Prefect server does; no header is fine, and <c>/api/health</c> is never checked.
/// </summary>
public static class ApiVersionCheck
{
    public const string Header = "X-PREFECT-API-VERSION";
    public const string ServerApiVersion = "0.8.3";
    private static readonly Version Minimum = new(0, 8, 0);

    public static IApplicationBuilder UseApiVersionCheck(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        string path = context.Request.Path.Value ?? "";
        if (path.StartsWith("/api", StringComparison.Ordinal) && !path.StartsWith("/api/health", StringComparison.Ordinal)
            && context.Request.Headers.TryGetValue(Header, out var values))
        {
            string value = values.ToString();
            if (!TryParse(value, out Version? version))
            {
                await Refuse(context, $"Invalid X-PREFECT-API-VERSION header format.Expected header in format 'x.y.z' but received {value}");
                return;
            }

            if (version < Minimum)
            {
                await Refuse(context, $"The request specified API version {value} but this server requires version {Minimum} or higher.");
                return;
            }
        }

        await next(context);
    });

    /// <summary>The client's version, for rules that serve older clients differently; null without a header.</summary>
    public static Version? ClientVersion(HttpRequest request) =>
        request.Headers.TryGetValue(Header, out var values) && TryParse(values.ToString(), out Version? version) ? version : null;

    private static bool TryParse(string value, out Version? version)
    {
        version = null;
        string[] parts = value.Split('.');
        int[] numbers = new int[3];
        if (parts.Length != 3)
        {
            return false;
        }

        for (int i = 0; i < 3; i++)
        {
            // Digits only, each part small enough for an int (99999999999.0.0 is refused, not overflowed).
            if (parts[i].Length == 0 || !parts[i].All(char.IsAsciiDigit) || !int.TryParse(parts[i], out numbers[i]))
            {
                return false;
            }
        }

        version = new Version(numbers[0], numbers[1], numbers[2]);
        return true;
    }

    private static Task Refuse(HttpContext context, string detail)
    {
        context.Response.StatusCode = 400;
        return context.Response.WriteAsJsonAsync(ErrorBodies.BadRequest(detail), Infrastructure.Json.Options);
    }
}
