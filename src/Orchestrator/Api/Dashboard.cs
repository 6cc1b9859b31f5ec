namespace Orchestrator.Api;

/// <summary>
/// The dashboard is static files (<c>wwwroot/ui</c>) reading the JSON API; these routes lead to it.
/// </summary>
public static class Dashboard
{
    public const string Path = "/ui/";

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder routes)
    {
        // Only the root: a route for /ui would also match /ui/ (routing ignores a trailing slash), and the
        // static files already send /ui on to /ui/.
        routes.MapGet("/", () => TypedResults.Redirect(Path)).AllowAnonymous().ExcludeFromDescription();
        return routes;
    }
}
