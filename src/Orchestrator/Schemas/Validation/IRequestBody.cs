using System.Reflection;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.OpenApi;

namespace Orchestrator.Schemas.Validation;

/// <summary>
/// A request body type that reads and validates itself with <see cref="Read"/>. A handler takes it as a
/// typed parameter: minimal APIs bind it through <c>BindAsync</c> (every problem of the body answered
/// together as one 422), and the endpoint's OpenAPI document describes the body and that 422 from the
/// same reading code (<see cref="RequestBodies.Describe"/>).
/// </summary>
public interface IRequestBody<TSelf> : IBindableFromHttpContext<TSelf>, IEndpointParameterMetadataProvider
    where TSelf : class, IRequestBody<TSelf>
{
    /// <summary>Reads the body's JSON object into the record, reporting problems to the reader.</summary>
    static abstract TSelf Read(JsonObjectReader reader);

    /// <summary>
    /// Action models (creates and updates) refuse unknown keys; bodies made of several embedded
    /// parameters (filters, set_state) ignore unknown top-level keys, as FastAPI does.
    /// </summary>
    static virtual bool ForbidsExtraKeys => true;

    static async ValueTask<TSelf?> IBindableFromHttpContext<TSelf>.BindAsync(HttpContext context, ParameterInfo parameter) =>
        await RequestBody.ReadAsync(context.Request, TSelf.Read, TSelf.ForbidsExtraKeys);

    static void IEndpointParameterMetadataProvider.PopulateMetadata(ParameterInfo parameter, EndpointBuilder builder) =>
        RequestBodies.AddMetadata(builder, typeof(TSelf));
}

/// <summary>The OpenAPI side of <see cref="IRequestBody{TSelf}"/>.</summary>
public static class RequestBodies
{
    /// <summary>
    /// The body is read as JSON whatever content type the client declares, as the Prefect server does, so
    /// routing must not refuse other types (<c>*/*</c>); and a missing body is answered 422, not 415.
    /// </summary>
    public static void AddMetadata(EndpointBuilder builder, Type bodyType)
    {
        builder.Metadata.Add(new AcceptsMetadata(["application/json", "*/*"], bodyType, isOptional: true));
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status422UnprocessableEntity, typeof(ValidationErrorBody), ["application/json"]));
    }

    /// <summary>The schema <paramref name="bodyType"/>'s <c>Read</c> validates against; null for other types.</summary>
    public static OpenApiSchema? Describe(Type bodyType)
    {
        bool isBody = bodyType.GetInterfaces().Any(i =>
            i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IRequestBody<>) && i.GetGenericArguments()[0] == bodyType);
        if (!isBody)
        {
            return null;
        }

        return (OpenApiSchema)typeof(RequestBodies).GetMethod(nameof(DescribeBody), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(bodyType)
            .Invoke(null, null)!;
    }

    private static OpenApiSchema DescribeBody<TBody>() where TBody : class, IRequestBody<TBody> =>
        JsonObjectReader.Describe(r => TBody.Read(r), TBody.ForbidsExtraKeys);
}
