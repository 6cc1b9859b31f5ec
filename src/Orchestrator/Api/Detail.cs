using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Orchestrator.Api;

/// <summary>The <c>{"detail": "..."}</c> body the Prefect server gives for errors raised by a handler.</summary>
public sealed record Detail([property: JsonPropertyName("detail")] string Message)
{
    public static NotFound<Detail> NotFound(string message) => TypedResults.NotFound(new Detail(message));
}
