using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Schemas;

namespace Orchestrator.Api;

/// <summary>
/// The run-history endpoints feed Prefect's UI charts, which this server does not serve; only their
/// interval validation is kept, and a valid request answers an empty history.
/// </summary>
public static class RunHistory
{
    public static Results<Ok<object[]>, UnprocessableEntity<Detail>> Refuse(HistoryRequest body) =>
        body.HistoryIntervalSeconds < 1
            ? ErrorBodies.Unprocessable("History interval must not be less than 1 second.")
            : TypedResults.Ok(Array.Empty<object>());
}
