using Orchestrator.Schemas.Validation;

namespace Orchestrator.Api;

/// <summary>
/// The run-history endpoints feed Prefect's UI charts, which this server does not serve; only their
/// interval validation is kept, and a valid request answers an empty history.
/// </summary>
public static class RunHistory
{
    public static async Task<IResult> Refuse(HttpRequest request)
    {
        double? interval = await RequestBody.ReadAsync(request, r =>
        {
            r.Timestamp("history_start", required: true);
            r.Timestamp("history_end", required: true);
            return r.Number("history_interval_seconds", required: true);
        }, forbidExtra: false);
        return interval < 1
            ? ErrorBodies.Unprocessable("History interval must not be less than 1 second.")
            : Results.Json(Array.Empty<object>());
    }
}
