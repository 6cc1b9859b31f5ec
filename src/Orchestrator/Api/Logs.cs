using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Orchestrator.Api;

/// <summary>
/// Serilog for every log line: levels from the <c>Serilog</c> section of the settings, the console as
/// readable text with date, time and zone (or compact JSON for log shippers, <c>Logs:Format=json</c>),
/// and one line per HTTP request with its trace id.
/// </summary>
public static class Logs
{
    private const string TextTemplate =
        "[{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} {Level:u3}] {SourceContext}: {Message:lj}{TraceSuffix}{NewLine}{Exception}";

    public static IServiceCollection AddOrchestratorLogging(this IServiceCollection services, IConfiguration configuration)
    {
        bool json = string.Equals(configuration["Logs:Format"], "json", StringComparison.OrdinalIgnoreCase);
        return services.AddSerilog(logs =>
        {
            logs.ReadFrom.Configuration(configuration).Enrich.FromLogContext().Enrich.With<TraceSuffix>();
            logs.WriteTo.Async(sink =>
            {
                if (json)
                {
                    sink.Console(new CompactJsonFormatter());
                }
                else
                {
                    sink.Console(outputTemplate: TextTemplate, formatProvider: System.Globalization.CultureInfo.InvariantCulture);
                }
            });
        });
    }

    /// <summary>
    /// One line per request: method, path and query, status, time and (on the line) the trace id. Server
    /// errors are logged as errors, so a quiet production level (<c>Warning</c> for the request logger)
    /// keeps them.
    /// </summary>
    public static IApplicationBuilder UseOrchestratorRequestLogging(this IApplicationBuilder app) => app.UseSerilogRequestLogging(options =>
    {
        options.MessageTemplate = "HTTP {RequestMethod} {RequestPath}{QueryString} responded {StatusCode} in {Elapsed:0.0} ms";
        options.GetLevel = (context, _, error) => error is not null || context.Response.StatusCode >= 500 ? LogEventLevel.Error : LogEventLevel.Information;
        options.EnrichDiagnosticContext = (diagnostics, context) => diagnostics.Set("QueryString", context.Request.QueryString.Value ?? "");
    });

    /// <summary>Adds <c> (trace …)</c> to a text line written inside a trace, so a request's lines can be found together.</summary>
    private sealed class TraceSuffix : Serilog.Core.ILogEventEnricher
    {
        public void Enrich(LogEvent logEvent, Serilog.Core.ILogEventPropertyFactory propertyFactory) =>
            logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty(nameof(TraceSuffix), logEvent.TraceId is { } trace ? $" (trace {trace})" : ""));
    }
}
