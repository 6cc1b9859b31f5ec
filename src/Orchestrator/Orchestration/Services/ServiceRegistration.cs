namespace Orchestrator.Orchestration.Services;

public static class ServiceRegistration
{
    /// <summary>
    /// The background services, each also resolvable as itself so tests can run one cycle on a manual clock.
    /// </summary>
    public static IServiceCollection AddOrchestratorServices(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<ServiceOptions>(configuration.GetSection(ServiceOptions.Section));
        services.AddSingleton<Scheduler>();
        services.AddSingleton<RecentDeploymentsScheduler>();
        services.AddSingleton<LateRuns>();
        services.AddHttpClient(nameof(Notifications.NotificationSender), client => client.Timeout = TimeSpan.FromSeconds(10));
        services.AddSingleton<Notifications.NotificationSender>();
        services.AddSingleton<FlowRunNotifications>();
        services.AddSingleton<SlotReaper>();
        services.AddHostedService(p => p.GetRequiredService<Scheduler>());
        services.AddHostedService(p => p.GetRequiredService<RecentDeploymentsScheduler>());
        services.AddHostedService(p => p.GetRequiredService<LateRuns>());
        services.AddHostedService(p => p.GetRequiredService<FlowRunNotifications>());
        services.AddHostedService(p => p.GetRequiredService<SlotReaper>());
        return services;
    }
}
