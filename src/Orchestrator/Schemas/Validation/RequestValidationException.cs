using Orchestrator.Infrastructure;

namespace Orchestrator.Schemas.Validation;

/// <summary>One entry of a 422 answer, in pydantic's shape: where, what, and the error kind.</summary>
public sealed record ValidationError(IReadOnlyList<object> Loc, string Msg, string Type);

/// <summary>The 422 body of a request that does not fit its schema, in pydantic's shape.</summary>
public sealed record ValidationErrorBody(string ExceptionMessage, IReadOnlyList<ValidationError> ExceptionDetail, RawJson? RequestBody);

/// <summary>The request does not fit its schema; answered 422 in Prefect's validation-error shape.</summary>
public sealed class RequestValidationException(IReadOnlyList<ValidationError> errors, RawJson? requestBody)
    : Exception("Invalid request received.")
{
    public IReadOnlyList<ValidationError> Errors { get; } = errors;

    public RawJson? RequestBody { get; } = requestBody;

    public static RequestValidationException For(IReadOnlyList<object> loc, string msg, string type) =>
        new([new ValidationError(loc, msg, type)], null);
}

/// <summary>A body that is not JSON (<c>Content-Type</c> other than <c>application/json</c>); answered 415.</summary>
public sealed class UnsupportedContentTypeException(string? contentType)
    : Exception($"Request bodies must be JSON (Content-Type: application/json), not {(string.IsNullOrEmpty(contentType) ? "untyped" : contentType)}.");
