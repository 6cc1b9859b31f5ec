using System.Net;

namespace Orchestrator.Api.Security;

/// <summary>
/// Where the server listens, read from the same settings Kestrel reads (<c>Urls</c>, which
/// <c>ASPNETCORE_URLS</c> and <c>--urls</c> set, and <c>Kestrel:Endpoints:*:Url</c>), decided before it
/// starts listening.
/// </summary>
public static class ServerExposure
{
    /// <summary>The host names a loopback-only server answers to, so a DNS-rebinding page cannot reach it under another name.</summary>
    public const string LoopbackHosts = "localhost;127.0.0.1;[::1]";

    public static IReadOnlyList<string> ConfiguredUrls(IConfiguration configuration)
    {
        var urls = (configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        urls.AddRange(configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>());
        return urls;
    }

    /// <summary>True when every address is a loopback one (<c>localhost</c>, <c>127.x.x.x</c>, <c>[::1]</c>); false for <c>*</c>, <c>0.0.0.0</c>, a name or a public address.</summary>
    public static bool IsLoopbackOnly(IReadOnlyList<string> urls) => urls.Count > 0 && urls.All(IsLoopback);

    private static bool IsLoopback(string url)
    {
        // Kestrel's wildcards are not valid URI hosts, and listen everywhere.
        string host = url.Contains("://", StringComparison.Ordinal) ? url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..] : url;
        host = host.Split('/')[0];
        if (host.StartsWith('['))
        {
            host = host[..(host.IndexOf(']') + 1)];
        }
        else if (host.Contains(':'))
        {
            host = host[..host.LastIndexOf(':')];
        }

        return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host.Trim('[', ']'), out IPAddress? address) && IPAddress.IsLoopback(address));
    }

    /// <summary>
    /// Why the server must not start as configured, in one line, or null. Without keys anyone who reaches
    /// the port could wipe the database, so that is only allowed on loopback, or when the operator says so.
    /// </summary>
    public static string? Problem(IConfiguration configuration, AuthOptions auth)
    {
        if (ApiKeyRing.Problem(auth) is { } keys)
        {
            return keys;
        }

        var urls = ConfiguredUrls(configuration);
        if (!auth.HasKeys && !auth.AllowUnauthenticated && !IsLoopbackOnly(urls))
        {
            return $"Refusing to serve {string.Join(", ", urls)} without API keys: configure Auth:ApiKeys (see `api-key create`), "
                + "listen on a loopback address, or set Auth:AllowUnauthenticated=true to let anyone who reaches the port do everything.";
        }

        return null;
    }
}
