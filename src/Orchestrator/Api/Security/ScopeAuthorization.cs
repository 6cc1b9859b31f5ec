using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace Orchestrator.Api.Security;

/// <summary>Marks an endpoint as needing more than the scope its method implies (admin routes).</summary>
public sealed record RequiredScope(ApiScope Scope);

/// <summary>The one requirement of the fallback policy: the caller's key has the scope the endpoint needs.</summary>
public sealed class ScopeRequirement : IAuthorizationRequirement;

/// <summary>
/// Which scope an endpoint needs: its <see cref="RequiredScope"/> when it declares one, else read for
/// GET and for the POST routes that only read (<c>/filter</c>, <c>/count</c>, <c>/history</c>), else write.
/// </summary>
public sealed class ScopeAuthorization : AuthorizationHandler<ScopeRequirement>
{
    /// <summary>The <see cref="HttpContext.Items"/> key of the reason a request was refused, for the 403 body.</summary>
    public const string DeniedItem = "Orchestrator.ScopeDenied";

    private static readonly string[] ReadingSuffixes = ["/filter", "/count", "/history"];

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        if (context.Resource is not HttpContext http)
        {
            return Task.CompletedTask;
        }

        ApiScope needed = Needed(http);
        ApiScope? held = ScopeOf(context.User);
        if (held >= needed)
        {
            context.Succeed(requirement);
        }
        else if (held is not null)
        {
            http.Items[DeniedItem] = $"This API key has the {Name(held.Value)} scope; {http.Request.Method} {http.Request.Path} needs {Name(needed)}.";
        }

        return Task.CompletedTask;
    }

    public static ApiScope? ScopeOf(ClaimsPrincipal user) =>
        user.FindFirst(ApiKeyAuthenticationHandler.ScopeClaim)?.Value is { } value && Enum.TryParse(value, out ApiScope scope) ? scope : null;

    /// <summary>Whether the caller may do what <paramref name="scope"/> allows (for checks inside a handler, like secrets).</summary>
    public static bool Allows(HttpContext http, ApiScope scope) => ScopeOf(http.User) >= scope;

    public static string Name(ApiScope scope) => scope.ToString().ToLowerInvariant();

    private static ApiScope Needed(HttpContext http)
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<RequiredScope>() is { } declared)
        {
            return declared.Scope;
        }

        string method = http.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method))
        {
            return ApiScope.Read;
        }

        string path = (http.Request.Path.Value ?? "").TrimEnd('/');
        return HttpMethods.IsPost(method) && ReadingSuffixes.Any(s => path.EndsWith(s, StringComparison.Ordinal)) ? ApiScope.Read : ApiScope.Write;
    }
}

public static class ScopeEndpointExtensions
{
    /// <summary>The endpoint (or every endpoint of the group) needs <paramref name="scope"/>.</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, ApiScope scope) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequiredScope(scope));
}

public static class ApiKeyAuthenticationSetup
{
    /// <summary>
    /// Every endpoint needs a key with the scope it implies (<see cref="ScopeAuthorization"/>) unless it
    /// allows anonymous callers; without configured keys every caller holds the admin scope.
    /// </summary>
    public static IServiceCollection AddApiKeyAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<AuthOptions>(configuration.GetSection(AuthOptions.Section));
        services.AddSingleton<ApiKeyRing>();
        services.AddSingleton<IAuthorizationHandler, ScopeAuthorization>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(ApiKeyAuthenticationHandler.SchemeName)
                .RequireAuthenticatedUser()
                .AddRequirements(new ScopeRequirement())
                .Build());
        return services;
    }
}
