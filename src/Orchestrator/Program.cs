using Microsoft.AspNetCore.Http.Json;
using Orchestrator.Api;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Orchestration;
using Serilog;

var builder = WebApplication.CreateBuilder(args);

// Structured console logging, configured from the Serilog section of appsettings.json.
builder.Logging.ClearProviders();
builder.Logging.AddSerilog(new LoggerConfiguration().ReadFrom.Configuration(builder.Configuration).CreateLogger(), dispose: true);

// SQLite by default, PostgreSQL by configuration; migrations run at start-up.
builder.Services.AddOrchestratorDatabase(builder.Configuration);

// The engine: the set_state procedure, its settings, and the clock rules read.
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.Configure<OrchestrationOptions>(builder.Configuration.GetSection(OrchestrationOptions.Section));
builder.Services.AddScoped<RunStateChanger>();

// Prefect's JSON: snake_case names, upper-case enums, six-digit UTC timestamps.
builder.Services.Configure<JsonOptions>(options => Json.Configure(options.SerializerOptions));
builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);

// Every failure becomes a Prefect-shaped error body in one place.
builder.Services.AddExceptionHandler<ErrorHandling>();
builder.Services.AddProblemDetails();

// OpenAPI document and Swagger UI at /docs.
builder.Services.AddOpenApiDocument();

// Any origin may call the API, as with the Prefect server.
builder.Services.AddCors(options => options.AddDefaultPolicy(policy => policy.AllowAnyOrigin().AllowAnyHeader().AllowAnyMethod()));

var app = builder.Build();

app.UseRequestLogging();
app.UseExceptionHandler();
app.UseCors();
app.UseApiVersionCheck();
app.UseSwagger();
app.UseSwaggerUI(options =>
{
    options.RoutePrefix = "docs";
    options.SwaggerEndpoint("/swagger/v1/swagger.json", "Orchestrator");
});

app.MapAdminApi();
app.MapFlowsApi();
app.MapFlowRunsApi();
app.MapTaskRunsApi();
app.MapStatesApi();
app.MapConcurrencyLimitsApi();
app.MapDeploymentsApi();
app.MapBlockTypesApi();
app.MapBlockSchemasApi();
app.MapBlockDocumentsApi();
app.MapLogsApi();
app.MapOrchestrationApi();

await app.Services.MigrateDatabaseAsync();
await app.RunAsync();

/// <summary>The entry point, public so in-process tests can host the application.</summary>
public partial class Program;
