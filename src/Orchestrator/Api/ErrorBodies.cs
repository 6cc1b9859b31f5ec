using System.Reflection;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
using Orchestrator.Infrastructure;
using Orchestrator.Schemas.Validation;

namespace Orchestrator.Api;

/// <summary>The <c>{"detail": "..."}</c> body the Prefect server gives for errors raised by a handler.</summary>
public sealed record Detail([property: JsonPropertyName("detail")] string Message);

/// <summary>The <c>{"exception_message": "..."}</c> body of errors raised below the handlers (404, 500).</summary>
public sealed record ExceptionMessage([property: JsonPropertyName("exception_message")] string Message);

/// <summary>
/// Every error body the API answers with is built here, so each status keeps the shape Prefect 2.7.0
/// gives it: handler errors as <see cref="Detail"/>, errors from below as <see cref="ExceptionMessage"/>,
/// invalid requests as <see cref="ValidationErrorBody"/>.
/// </summary>
public static class ErrorBodies
{
    public const string IntegrityConflictMessage =
        "Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.";

    public static NotFound<Detail> NotFound(string message) => TypedResults.NotFound(new Detail(message));

    /// <summary>A missing object named by a path id, answered as 2.7.0's lower layers do.</summary>
    public static NotFound<ExceptionMessage> MissingObject(string message) => TypedResults.NotFound(new ExceptionMessage(message));

    public static Conflict<Detail> Conflict(string message) => TypedResults.Conflict(new Detail(message));

    public static Conflict<Detail> IntegrityConflict() => Conflict(IntegrityConflictMessage);

    public static ForbiddenDetail Forbidden(string message) => new(new Detail(message));

    public static UnprocessableEntity<Detail> Unprocessable(string message) => TypedResults.UnprocessableEntity(new Detail(message));

    public static Detail BadRequest(string message) => new(message);

    public static ExceptionMessage Unexpected() => new("Internal Server Error");

    /// <summary>Errors listed in one 422 answer; the rest are summed up in a last entry.</summary>
    public const int MaxValidationErrors = 50;

    /// <summary>Request bodies echoed in a 422 answer only up to this many characters, so a huge bad request gets a small answer.</summary>
    public const int MaxEchoedBodyLength = 16 * 1024;

    public static ValidationErrorBody Validation(RequestValidationException error)
    {
        var errors = error.Errors;
        if (errors.Count > MaxValidationErrors)
        {
            errors = [.. errors.Take(MaxValidationErrors), new ValidationError(["body"], $"and {errors.Count - MaxValidationErrors} more errors", "value_error")];
        }

        RawJson? echo = error.RequestBody is { Text.Length: <= MaxEchoedBodyLength } body ? body : null;
        return new("Invalid request received.", errors, echo);
    }
}

/// <summary>403 with a <see cref="Detail"/> body, declared in the OpenAPI document like the built-in typed results.</summary>
public sealed class ForbiddenDetail(Detail value) : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<Detail>, IEndpointMetadataProvider
{
    public Detail Value { get; } = value;

    object? IValueHttpResult.Value => Value;

    public int StatusCode => StatusCodes.Status403Forbidden;

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = StatusCode;
        return httpContext.Response.WriteAsJsonAsync(Value, Json.Options);
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status403Forbidden, typeof(Detail), ["application/json"]));
}
