using System.Security.Cryptography;

namespace Orchestrator.Api.Security;

/// <summary>
/// <c>Orchestrator api-key create [--scope read|write|admin]</c>: makes a random key and prints it once,
/// with the settings that configure its hash. The key itself is stored nowhere.
/// </summary>
public static class ApiKeyCommand
{
    public static bool IsCommand(string[] args) => args is ["api-key", ..];

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        string scope = "write";
        int scopeAt = Array.IndexOf(args, "--scope");
        if (scopeAt >= 0 && scopeAt + 1 < args.Length)
        {
            scope = args[scopeAt + 1];
        }

        if (args is not ["api-key", "create", ..] || !ApiKeyRing.TryParseScope(scope, out ApiScope parsed))
        {
            error.WriteLine("usage: api-key create [--scope read|write|admin]");
            return 2;
        }

        // 32 random bytes, URL-safe, with a prefix that tells a reader what the string is.
        string key = "orc_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        string name = ScopeAuthorization.Name(parsed);
        output.WriteLine($"API key ({name} scope), shown this once; give it to clients as PREFECT_API_KEY:");
        output.WriteLine();
        output.WriteLine($"  {key}");
        output.WriteLine();
        output.WriteLine("Configure the server with its hash (N = the next free index), in appsettings.json or the environment:");
        output.WriteLine();
        output.WriteLine($"  Auth__ApiKeys__N__Sha256={ApiKeyRing.Hash(key)}");
        output.WriteLine($"  Auth__ApiKeys__N__Scope={name}");
        return 0;
    }
}
