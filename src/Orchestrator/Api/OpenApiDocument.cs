using System.Reflection;
using Microsoft.OpenApi;
using Orchestrator.Schemas.Validation;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Orchestrator.Api;

/// <summary>
/// The OpenAPI document at <c>/swagger/v1/swagger.json</c> (Swagger UI at <c>/docs</c>). Request bodies are
/// described by the same reading code that validates them (<see cref="IRequestBody{TSelf}"/>), responses
/// by the handlers' typed results.
/// </summary>
public static class OpenApiDocument
{
    public static IServiceCollection AddOpenApiDocument(this IServiceCollection services) =>
        services.AddEndpointsApiExplorer().AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Orchestrator",
                Version = AdminApi.ServerVersion,
                Description = "A workflow-orchestration server that speaks the REST API of Prefect 2.7.",
            });
            foreach (Type body in typeof(IRequestBody<>).Assembly.GetTypes().Where(t => RequestBodies.Describe(t) is not null))
            {
                options.MapType(body, () => RequestBodies.Describe(body)!);
            }

            options.OperationFilter<ValidationAnswers>();

            // Swagger UI's "Authorize" takes an API key, sent as the Prefect client sends PREFECT_API_KEY.
            options.AddSecurityDefinition(BearerScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An API key (`api-key create`); needed once Auth:ApiKeys are configured.",
            });
            options.AddSecurityRequirement(document => new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [] });
        });

    private const string BearerScheme = "ApiKey";

    /// <summary>
    /// Marks a body required when its schema requires a key, and declares the 422 answer of every
    /// operation that reads a body or a route or query value (a malformed UUID, a missing parameter).
    /// </summary>
    private sealed class ValidationAnswers : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (operation.RequestBody is OpenApiRequestBody body
                && body.Content?.Values.Any(c => c.Schema is OpenApiSchema { Required.Count: > 0 }) == true)
            {
                body.Required = true;
            }

            string unprocessable = StatusCodes.Status422UnprocessableEntity.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if ((operation.Parameters is not { Count: > 0 } && operation.RequestBody is null) || operation.Responses is not { } responses)
            {
                return;
            }

            var validation = context.SchemaGenerator.GenerateSchema(typeof(ValidationErrorBody), context.SchemaRepository);
            if (responses.TryGetValue(unprocessable, out var declared)
                && declared.Content?.TryGetValue("application/json", out var media) == true
                && media.Schema is OpenApiSchemaReference { Reference.Id: not nameof(ValidationErrorBody) } handlerError
                && media is OpenApiMediaType json)
            {
                // The handler refuses some accepted bodies itself (a limit out of range): either shape.
                json.Schema = new OpenApiSchema { OneOf = [validation, handlerError] };
                return;
            }

            if (declared is null)
            {
                responses[unprocessable] = new OpenApiResponse
                {
                    Description = "The request does not fit its schema.",
                    Content = new Dictionary<string, IOpenApiMediaType>
                    {
                        ["application/json"] = new OpenApiMediaType { Schema = validation },
                    },
                };
            }
        }
    }
}
