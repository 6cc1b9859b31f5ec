using Orchestrator.Api.Security;

namespace Orchestrator.Tests.Api.Security;

public sealed class ApiKeyCommandTests
{
    [Fact]
    public void Create_PrintsANewKeyOnce_WithTheHashAndScopeToConfigure()
    {
        var output = new StringWriter();

        int exitCode = ApiKeyCommand.Run(["api-key", "create", "--scope", "admin"], output, TextWriter.Null);

        exitCode.Should().Be(0);
        string[] lines = output.ToString().Split('\n', StringSplitOptions.TrimEntries);
        string key = lines.Single(l => l.StartsWith("orc_", StringComparison.Ordinal));
        key.Length.Should().BeGreaterThan(40);
        lines.Should().Contain($"Auth__ApiKeys__N__Sha256={ApiKeyRing.Hash(key)}").And.Contain("Auth__ApiKeys__N__Scope=admin");
        lines.Count(l => l.Contains(key, StringComparison.Ordinal)).Should().Be(1, "the key is shown once");
    }

    [Fact]
    public void Create_MakesADifferentKeyEachTime_WithTheWriteScopeByDefault()
    {
        var first = new StringWriter();
        var second = new StringWriter();

        ApiKeyCommand.Run(["api-key", "create"], first, TextWriter.Null);
        ApiKeyCommand.Run(["api-key", "create"], second, TextWriter.Null);

        first.ToString().Should().NotBe(second.ToString());
        first.ToString().Should().Contain("Auth__ApiKeys__N__Scope=write");
    }

    [Fact]
    public void AnUnknownScopeOrVerb_PrintsUsage_AndFails()
    {
        var error = new StringWriter();

        ApiKeyCommand.Run(["api-key", "create", "--scope", "root"], TextWriter.Null, error).Should().Be(2);
        ApiKeyCommand.Run(["api-key", "delete"], TextWriter.Null, error).Should().Be(2);
        error.ToString().Should().Contain("usage: api-key create");
    }
}
