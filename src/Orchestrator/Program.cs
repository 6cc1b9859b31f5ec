using Microsoft.AspNetCore.Http.Json;
using Orchestrator.Api;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Orchestration;
using Orchestrator.Orchestration.Services;
using Orchestrator.Api.Security;

if (ApiKeyCommand.IsCommand(args))
{
    return ApiKeyCommand.Run(args, Console.Out, Console.Error);
}

var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args,
    // appsettings.json is read from beside the binary, whatever directory the server is started from.
    ContentRootPath = AppContext.BaseDirectory,
});

// Structured console logging with Serilog, levels from the Serilog section of appsettings.json.
builder.Services.AddOrchestratorLogging(builder.Configuration);

// Metrics and traces (OpenTelemetry: /metrics, OTLP when configured) and the health checks.
builder.Services.AddObservability(builder.Configuration);

// SQLite by default, PostgreSQL by configuration; migrations run at start-up.
builder.Services.AddOrchestratorDatabase(builder.Configuration);

// The engine: the set_state procedure, its settings, and the clock rules read.
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.Configure<OrchestrationOptions>(builder.Configuration.GetSection(OrchestrationOptions.Section));
builder.Services.AddScoped<RunStateChanger>();

// The server's background services (scheduler, late runs), each with its settings under Services.
builder.Services.AddOrchestratorServices(builder.Configuration);

// Prefect's JSON: snake_case names, upper-case enums, six-digit UTC timestamps.
builder.Services.Configure<JsonOptions>(options => Json.Configure(options.SerializerOptions));
builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);

// Every failure becomes a Prefect-shaped error body in one place.
builder.Services.AddExceptionHandler<ErrorHandling>();
builder.Services.AddProblemDetails();

// OpenAPI document and Swagger UI at /docs.
builder.Services.AddOpenApiDocument();

// Who may call: API keys with scopes, browser pages of the configured origins only, and on loopback only
// the loopback host names (a page that rebinds its own name to 127.0.0.1 is refused).
var auth = builder.Configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
var server = builder.Configuration.GetSection(ServerOptions.Section).Get<ServerOptions>() ?? new ServerOptions();
builder.Services.AddApiKeyAuthentication(builder.Configuration);
builder.Services.AddCors(options => options.AddDefaultPolicy(policy => policy.WithOrigins(server.AllowedOrigins).AllowAnyHeader().AllowAnyMethod()));
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = server.MaxRequestBodyBytes);
if (ServerExposure.IsLoopbackOnly(ServerExposure.ConfiguredUrls(builder.Configuration))
    && builder.Configuration["AllowedHosts"] is null or "" or "*")
{
    builder.Configuration["AllowedHosts"] = ServerExposure.LoopbackHosts;
}

await using var app = builder.Build();

if (ServerExposure.Problem(app.Configuration, auth) is { } exposure)
{
    app.Logger.LogCritical("{Problem}", exposure);
    return 1;
}

app.UseOrchestratorRequestLogging();
app.UseExceptionHandler();
app.UseRequestGuards(server);
app.UseCors();
app.UseApiVersionCheck();

// The documentation and the dashboard's files stay open; everything after this needs a key once keys
// are configured (the dashboard asks for one).
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseSwagger();
app.UseSwaggerUI(options =>
{
    options.RoutePrefix = "docs";
    options.SwaggerEndpoint("/swagger/v1/swagger.json", "Orchestrator");
    options.EnableDeepLinking();
});
app.UseAuthentication();
app.UseAuthorization();

app.MapAdminApi();
app.MapFlowsApi();
app.MapFlowRunsApi();
app.MapTaskRunsApi();
app.MapStatesApi();
app.MapConcurrencyLimitsApi();
app.MapDeploymentsApi();
app.MapWorkQueuesApi();
app.MapUiApi();
app.MapSavedSearchesApi();
app.MapFlowRunNotificationPoliciesApi();
app.MapBlockTypesApi();
app.MapBlockSchemasApi();
app.MapBlockDocumentsApi();
app.MapLogsApi();
app.MapOrchestrationApi();
app.MapObservability();
app.MapDashboard();

// Migrations run at start-up; a database that cannot be prepared is reported in one line, and the
// process exits with a non-zero code instead of serving errors.
if (!await app.Services.TryPrepareDatabaseAsync(app.Logger))
{
    return 1;
}

await app.RunAsync();
return 0;

/// <summary>The entry point, public so in-process tests can host the application.</summary>
public partial class Program;
