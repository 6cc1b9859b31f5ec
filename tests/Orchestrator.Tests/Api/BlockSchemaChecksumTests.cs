using Orchestrator.Infrastructure;

namespace Orchestrator.Tests.Api;

public sealed class BlockSchemaChecksumTests
{
    [Fact]
    public void Checksum_OfTheLocalFileSystemFields_IsTheOneThePrefectClientComputes()
    {
        var fields = new RawJson("""{"title": "LocalFileSystem", "description": "Store data as a file on a local file system.", "type": "object", "properties": {"basepath": {"title": "Basepath", "description": "Default local path for this block to write to.", "type": "string"}}, "block_type_slug": "local-file-system", "secret_fields": [], "block_schema_references": {}}""");

        BlockSchemaChecksum.Compute(fields).Should().Be("sha256:6db1ab242e7b2b88a52dc137a7da3a373af63e0a103b9a91e060ed54a26f395a");
    }

    [Fact]
    public void Checksum_IgnoresKeyOrderWhitespaceAndSecretFields()
    {
        string a = BlockSchemaChecksum.Compute(new RawJson("""{"b": 1, "a": {"y": [1, 2], "x": "é"}, "secret_fields": ["p"]}"""));
        string b = BlockSchemaChecksum.Compute(new RawJson("""{"a":{"x":"é","y":[1,2]},"b":1}"""));

        a.Should().Be(b);
    }

    [Theory]
    [InlineData("1", "1")]
    [InlineData("-12", "-12")]
    [InlineData("1.0", "1.0")]
    [InlineData("1.50", "1.5")]
    [InlineData("0.001", "0.001")]
    [InlineData("0.00001", "1e-05")]
    [InlineData("1.5e-7", "1.5e-07")]
    [InlineData("1e16", "1e+16")]
    [InlineData("123456.789", "123456.789")]
    [InlineData("1e3", "1000.0")]
    [InlineData("0.0", "0.0")]
    public void Numbers_WithAFractionOrExponent_PrintAsPythonFloatRepr(string json, string python)
    {
        BlockSchemaChecksum.PythonNumber(json).Should().Be(python);
    }
}
