using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using System.Diagnostics.Metrics;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orchestrator.Data;
using Orchestrator.Infrastructure;
using Orchestrator.Orchestration;

namespace Orchestrator.Api;

/// <summary>Settings of the <c>Telemetry</c> configuration section.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>Make spans for requests, transitions and database commands (their ids are in the logs; an OTLP endpoint receives them).</summary>
    public bool Tracing { get; set; } = true;

    /// <summary>Serve <c>/metrics</c> for Prometheus.</summary>
    public bool Prometheus { get; set; } = true;

    /// <summary>
    /// An OTLP collector (<c>http://collector:4317</c>) to send traces and metrics to; none by default. The
    /// standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> variable works too.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>How old a reading of the gauges taken from the database (slots, flow runs per state) may be when metrics are collected.</summary>
    public double DatabaseGaugeSeconds { get; set; } = 10;

    /// <summary>Whether anything reads the metrics (Prometheus, or an OTLP collector).</summary>
    public bool ExportsMetrics => Prometheus || !string.IsNullOrEmpty(OtlpEndpoint);

    /// <summary>The section, with the OTLP endpoint of the standard variable when the section names none.</summary>
    public static TelemetryOptions From(IConfiguration configuration)
    {
        var options = configuration.GetSection(Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        options.OtlpEndpoint ??= configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        return options;
    }
}

/// <summary>
/// Metrics and traces with OpenTelemetry (the engine's <c>orchestrator.*</c> instruments, ASP.NET Core's
/// HTTP metrics and spans, Npgsql's), <c>/metrics</c> for Prometheus, OTLP when configured, and the
/// health checks at <c>/health/ready</c> (the database answers) and <c>/health/live</c>.
/// </summary>
public static class Observability
{
    public static IServiceCollection AddObservability(this IServiceCollection services, IConfiguration configuration)
    {
        var options = TelemetryOptions.From(configuration);
        string? otlp = options.OtlpEndpoint;
        services.AddSingleton(options);
        services.AddSingleton<StoredGauges>();
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("orchestrator", serviceVersion: AdminApi.ServerVersion));
        if (options.ExportsMetrics)
        {
            telemetry.WithMetrics(metrics =>
            {
                metrics.AddMeter(OrchestrationTelemetry.Name, "Npgsql").AddAspNetCoreInstrumentation();
                if (options.Prometheus)
                {
                    // Every scrape collects afresh; the database gauges have their own, longer, reuse.
                    metrics.AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0);
                }

                if (!string.IsNullOrEmpty(otlp))
                {
                    metrics.AddOtlpExporter(exporter => exporter.Endpoint = new Uri(otlp));
                }
            });
        }

        if (options.Tracing)
        {
            telemetry.WithTracing(tracing =>
            {
                // Spans are made even without an exporter, so request and transition logs carry a trace id.
                tracing.AddSource(OrchestrationTelemetry.Name).AddAspNetCoreInstrumentation().AddNpgsql();
                if (!string.IsNullOrEmpty(otlp))
                {
                    tracing.AddOtlpExporter(exporter => exporter.Endpoint = new Uri(otlp));
                }
            });
        }

        services.AddHealthChecks().AddDbContextCheck<OrchestratorDbContext>("database");
        return services;
    }

    public static WebApplication MapObservability(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<TelemetryOptions>();
        if (options.ExportsMetrics)
        {
            // Something reads metrics: the gauges read from the database are registered.
            app.Services.GetRequiredService<StoredGauges>();
        }

        if (options.Prometheus)
        {
            // Behind the read scope once keys are configured, like every GET.
            app.MapPrometheusScrapingEndpoint("/metrics");
        }

        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            ResponseWriter = (context, report) => context.Response.WriteAsync($"{report.Status}. The dashboard is at {Dashboard.Path}, the API documentation at /docs."),
        }).AllowAnonymous();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        return app;
    }

    /// <summary>
    /// Gauges read from the database when metrics are collected: slots in use and limits per tag, flow runs
    /// scheduled, late, pending and running. A collection reuses a reading up to
    /// <see cref="TelemetryOptions.DatabaseGaugeSeconds"/> old, so frequent scrapes cost the database one
    /// small set of queries that often at most.
    /// </summary>
    private sealed class StoredGauges : IDisposable
    {
        private readonly IServiceScopeFactory _scopes;
        private readonly TimeProvider _time;
        private readonly Lock _gate = new();
        private readonly System.Diagnostics.Metrics.Meter _meter = new(OrchestrationTelemetry.Name);
        private readonly TimeSpan _maxAge;
        private Snapshot _snapshot = new([], [], DateTime.MinValue);

        private sealed record Snapshot(List<(string Tag, int InUse, int Limit)> Limits, List<(string State, int Count)> FlowRuns, DateTime Taken);

        public StoredGauges(IServiceScopeFactory scopes, TimeProvider time, TelemetryOptions options)
        {
            _scopes = scopes;
            _time = time;
            _maxAge = TimeSpan.FromSeconds(options.DatabaseGaugeSeconds);
            // A meter of this server's own, so its gauges end with it (tests host many servers in one process).
            _meter.CreateObservableGauge("orchestrator.slots.in_use", () => Read().Limits.Select(l => new Measurement<int>(l.InUse, new KeyValuePair<string, object?>("tag", l.Tag))),
                "{slot}", "Concurrency slots held, by tag.");
            _meter.CreateObservableGauge("orchestrator.slots.limit", () => Read().Limits.Select(l => new Measurement<int>(l.Limit, new KeyValuePair<string, object?>("tag", l.Tag))),
                "{slot}", "The concurrency limit of each tag.");
            _meter.CreateObservableGauge("orchestrator.slots.waiters", () => OrchestrationTelemetry.WaitersByTag(_time.UtcNow()).Select(w => new Measurement<int>(w.Value, new KeyValuePair<string, object?>("tag", w.Key))),
                "{task_run}", "Task runs this instance told to WAIT for a full limit and not yet due back, by tag.");
            _meter.CreateObservableGauge("orchestrator.flow_runs", () => Read().FlowRuns.Select(r => new Measurement<int>(r.Count, new KeyValuePair<string, object?>("state", r.State))),
                "{flow_run}", "Flow runs waiting or running: SCHEDULED, LATE (scheduled and marked Late), PENDING, RUNNING.");
        }

        private Snapshot Read()
        {
            lock (_gate)
            {
                if (_time.UtcNow() - _snapshot.Taken < _maxAge)
                {
                    return _snapshot;
                }

                try
                {
                    _snapshot = Take();
                }
                catch (Exception error) when (error is System.Data.Common.DbException or InvalidOperationException)
                {
                    // The database is away; the last reading stands, and /health/ready says why.
                }

                return _snapshot;
            }
        }

        private Snapshot Take()
        {
            using var scope = _scopes.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            var limits = db.ConcurrencyLimits.AsNoTracking().Select(l => new { l.Tag, l.ActiveSlots, l.Limit }).ToList()
                .Select(l => (l.Tag, l.ActiveSlots.Count, l.Limit)).ToList();
            // One statement counts the four groups; a group with no runs is not returned and reads 0.
            var counts = db.FlowRuns.AsNoTracking()
                .Where(r => r.StateType == StateType.Scheduled || r.StateType == StateType.Pending || r.StateType == StateType.Running)
                .GroupBy(r => new { r.StateType, Late = r.StateType == StateType.Scheduled && r.StateName == "Late" })
                .Select(g => new { g.Key.StateType, g.Key.Late, Count = g.Count() })
                .ToList();
            int Count(StateType type, bool late) => counts.Where(c => c.StateType == type && c.Late == late).Sum(c => c.Count);
            var states = new List<(string, int)>
            {
                ("SCHEDULED", Count(StateType.Scheduled, late: false)),
                ("LATE", Count(StateType.Scheduled, late: true)),
                ("PENDING", Count(StateType.Pending, late: false)),
                ("RUNNING", Count(StateType.Running, late: false)),
            };
            return new Snapshot(limits, states, _time.UtcNow());
        }

        public void Dispose() => _meter.Dispose();
    }
}
