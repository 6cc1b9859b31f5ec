using Microsoft.AspNetCore.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Schemas.Validation;
using Orchestrator.Data;
using Orchestrator.Orchestration;

namespace Orchestrator.Api;

/// <summary>
/// The one place exceptions become HTTP answers, in the Prefect server's error shapes: 422 for request
/// validation, 404 for missing objects raised below the endpoints, 409 for integrity conflicts and 500
/// (logged) for anything else. The request's transaction is already rolled back when this runs.
/// </summary>
public sealed class ErrorHandling(ILogger<ErrorHandling> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        (int status, object body) = exception switch
        {
            RequestValidationException v => (422, ErrorBodies.Validation(v)),
            UnsupportedContentTypeException u => (415, new Detail(u.Message)),
            BadHttpRequestException b when IsBinding(b) => (422, ErrorBodies.Validation(FromBinding(b))),
            // The request itself is malformed (a bad chunk size, a body cut short) or too large.
            BadHttpRequestException b => (b.StatusCode, new Detail(b.Message)),
            ObjectNotFoundException n => (404, new ExceptionMessage(n.Message)),
            DbUpdateException d when d.IsIntegrityViolation() => (409, new Detail(ErrorBodies.IntegrityConflictMessage)),
            _ => (500, (object)ErrorBodies.Unexpected()),
        };

        if (status >= 500 || status == 409)
        {
            logger.LogError(exception, "Request {Method} {Path} failed", httpContext.Request.Method, httpContext.Request.Path);
        }

        if (status >= 500)
        {
            // A connection that failed in an unexpected way may be mid-protocol; it must not serve the
            // next request.
            DatabaseErrors.DiscardConnectionsAfter(exception);
        }

        if (httpContext.Response.HasStarted)
        {
            return false;
        }

        httpContext.Response.StatusCode = status;
        await httpContext.Response.WriteAsJsonAsync(body, body.GetType(), Infrastructure.Json.Options, cancellationToken);
        return true;
    }

    private static bool IsBinding(BadHttpRequestException error) =>
        error.Message.StartsWith("Failed to bind parameter", StringComparison.Ordinal)
        || error.Message.StartsWith("Required parameter", StringComparison.Ordinal);

    /// <summary>A route or query value that did not bind (a malformed UUID, a missing parameter).</summary>
    private static RequestValidationException FromBinding(BadHttpRequestException error)
    {
        string message = error.Message;
        string source = message.Contains("query string", StringComparison.Ordinal) ? "query" : "path";
        string name = message.Split('"').ElementAtOrDefault(1)?.Split(' ').LastOrDefault() ?? "";
        return message.StartsWith("Required parameter", StringComparison.Ordinal)
            ? RequestValidationException.For([source, name], "field required", "value_error.missing")
            : RequestValidationException.For([source, name], "value is not a valid uuid", "type_error.uuid");
    }
}
