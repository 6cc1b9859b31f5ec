using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Orchestrator.Api.Security;

/// <summary>
/// The configured keys, by the hex SHA-256 of the key. Only hashes are configured and kept, so a leaked
/// settings file or environment does not leak a key.
/// </summary>
public sealed class ApiKeyRing
{
    private readonly Dictionary<string, (ApiScope Scope, string Name)> _byHash = new(StringComparer.OrdinalIgnoreCase);

    public ApiKeyRing(IOptions<AuthOptions> options)
    {
        var keys = options.Value.ApiKeys;
        for (int i = 0; i < keys.Count; i++)
        {
            if (TryParseScope(keys[i].Scope, out ApiScope scope) && IsSha256Hex(keys[i].Sha256))
            {
                _byHash[keys[i].Sha256] = (scope, keys[i].Name.Length > 0 ? keys[i].Name : $"key {i}");
            }
        }
    }

    /// <summary>When false, no key is configured and every caller may do everything (the server then serves on loopback only).</summary>
    public bool Required => _byHash.Count > 0;

    public bool TryFind(string key, out ApiScope scope, out string name)
    {
        bool found = _byHash.TryGetValue(Hash(key), out var entry);
        (scope, name) = entry;
        return found;
    }

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static bool TryParseScope(string text, out ApiScope scope) =>
        Enum.TryParse(text, ignoreCase: true, out scope) && Enum.IsDefined(scope) && !int.TryParse(text, out _);

    public static bool IsSha256Hex(string text) => text.Length == 64 && text.All(char.IsAsciiHexDigit);

    /// <summary>
    /// What is wrong with the configured keys, one line, or null: a key that cannot match anything is a
    /// mistake the operator wants to hear about at start-up, not as 401s later.
    /// </summary>
    public static string? Problem(AuthOptions options)
    {
        for (int i = 0; i < options.ApiKeys.Count; i++)
        {
            var key = options.ApiKeys[i];
            if (!IsSha256Hex(key.Sha256))
            {
                return $"Auth:ApiKeys:{i}:Sha256 must be the 64 hex digits of the key's SHA-256 (create a key with `api-key create`).";
            }

            if (!TryParseScope(key.Scope, out _))
            {
                return $"Auth:ApiKeys:{i}:Scope must be read, write or admin, not \"{key.Scope}\".";
            }
        }

        return null;
    }
}

/// <summary>
/// Reads <c>Authorization: Bearer &lt;key&gt;</c>, which the Prefect client sends for <c>PREFECT_API_KEY</c>.
/// The caller's scope becomes a claim that <see cref="ScopeAuthorization"/> checks. Without configured
/// keys every request is an admin, as the Prefect server serves everyone.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory loggerFactory, UrlEncoder encoder, ApiKeyRing keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string ScopeClaim = "scope";

    private const string Bearer = "Bearer ";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!keys.Required)
        {
            return Task.FromResult(Success(ApiScope.Admin, "unauthenticated"));
        }

        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.Fail("The Authorization header must be \"Bearer <api key>\"."));
        }

        return Task.FromResult(keys.TryFind(header[Bearer.Length..].Trim(), out ApiScope scope, out string name)
            ? Success(scope, name)
            : AuthenticateResult.Fail("Invalid API key."));
    }

    private static AuthenticateResult Success(ApiScope scope, string name)
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, name), new Claim(ScopeClaim, scope.ToString())], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        string detail = result.Failure?.Message ?? "Not authenticated: send an API key as \"Authorization: Bearer <key>\".";
        await Response.WriteAsJsonAsync(new Detail(detail), Infrastructure.Json.Options);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        string detail = Context.Items.TryGetValue(ScopeAuthorization.DeniedItem, out object? why) && why is string text
            ? text
            : "This API key's scope does not allow this request.";
        await Response.WriteAsJsonAsync(new Detail(detail), Infrastructure.Json.Options);
    }
}
