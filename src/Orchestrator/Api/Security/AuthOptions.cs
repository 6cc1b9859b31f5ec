namespace Orchestrator.Api.Security;

/// <summary>What a key may do; each scope includes the ones before it.</summary>
public enum ApiScope
{
    /// <summary>Reads: every GET, and the POST routes that only filter, count or chart.</summary>
    Read,

    /// <summary>Runs and states: creating and changing flows, runs, deployments, blocks and logs; secrets of block documents.</summary>
    Write,

    /// <summary>The <c>/api/admin</c> routes (database clear and drop among them), deleting flows and concurrency limits.</summary>
    Admin,
}

/// <summary>One configured API key: the hex SHA-256 of the key (never the key itself) and its scope.</summary>
public sealed class ApiKeyOptions
{
    public string Sha256 { get; set; } = "";

    public string Scope { get; set; } = "";

    /// <summary>A label for the logs; the key's position in the list when empty.</summary>
    public string Name { get; set; } = "";
}

/// <summary>Settings of the <c>Auth</c> configuration section.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary><c>Auth:ApiKeys:&lt;n&gt;:Sha256</c> and <c>Auth:ApiKeys:&lt;n&gt;:Scope</c>. None: every request is allowed, on loopback only.</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>Serve without keys on a non-loopback address, knowing anyone who reaches the port is admin.</summary>
    public bool AllowUnauthenticated { get; set; }

    public bool HasKeys => ApiKeys.Count > 0;
}
