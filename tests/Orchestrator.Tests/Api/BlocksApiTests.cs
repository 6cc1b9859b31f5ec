using System.Text.Json.Nodes;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Api;

public abstract class BlocksApiTests(DatabaseKind database)
{
    /// <summary>The checksum the Prefect 2.7.0 client asks for its result storage (from the recording).</summary>
    private const string LocalFileSystemChecksum = "sha256:6db1ab242e7b2b88a52dc137a7da3a373af63e0a103b9a91e060ed54a26f395a";

    private static readonly object SecretFields = new
    {
        title = "Creds",
        type = "object",
        properties = new { user = new { type = "string" }, password = new { type = "string" } },
        secret_fields = new[] { "password" },
    };

    [Fact]
    public async Task BuiltinLocalFileSystem_IsRegisteredAtStart_AndFoundByTheClientsChecksum()
    {
        await using var app = await TestApp.StartAsync(database);

        var (typeStatus, type) = await app.GetAsync("/api/block_types/slug/local-file-system");
        var (schemaStatus, schema) = await app.GetAsync($"/api/block_schemas/checksum/{LocalFileSystemChecksum}?version=2.7.0");

        typeStatus.Should().Be(200);
        type.Str("name").Should().Be("Local File System");
        type!["is_protected"]!.GetValue<bool>().Should().BeTrue();
        schemaStatus.Should().Be(200);
        schema.Str("block_type_id").Should().Be(type.Str("id"));
        schema!["block_type"].Str("slug").Should().Be("local-file-system");
        schema["capabilities"]!.AsArray().Select(c => c!.GetValue<string>()).Should().Contain("write-path");
    }

    [Fact]
    public async Task ReadBlockType_UnknownSlugOrId_Is404()
    {
        await using var app = await TestApp.StartAsync(database);

        var (bySlug, body) = await app.GetAsync("/api/block_types/slug/nope");
        var (byId, _) = await app.GetAsync($"/api/block_types/{Guid.NewGuid()}");
        var (badId, _) = await app.GetAsync("/api/block_types/not-a-uuid");

        bySlug.Should().Be(404);
        body.Str("detail").Should().Be("Block type not found");
        byId.Should().Be(404);
        badId.Should().Be(422);
    }

    [Fact]
    public async Task CreateBlockType_Returns201_AndRefusesATakenNameOrSlugWith409()
    {
        await using var app = await TestApp.StartAsync(database);

        var (created, type) = await app.PostAsync("/api/block_types/", new { name = "My Block", slug = "my-block", description = "d" });
        var (sameName, conflict) = await app.PostAsync("/api/block_types/", new { name = "My Block", slug = "other" });
        var (sameSlug, _) = await app.PostAsync("/api/block_types/", new { name = "Other", slug = "my-block" });
        var (_, read) = await app.GetAsync($"/api/block_types/{type.Str("id")}");

        created.Should().Be(201);
        type!["is_protected"]!.GetValue<bool>().Should().BeFalse();
        sameName.Should().Be(409);
        conflict.Str("detail").Should().Be("Block type with name \"My Block\" already exists");
        sameSlug.Should().Be(409);
        read.Str("description").Should().Be("d");
    }

    [Fact]
    public async Task CreateBlockType_RefusesReservedNames403_AndBadBodies422()
    {
        await using var app = await TestApp.StartAsync(database);

        var (reserved, _) = await app.PostAsync("/api/block_types/", new { name = "Prefect Thing", slug = "prefect-thing" });
        var (missingSlug, _) = await app.PostAsync("/api/block_types/", new { name = "x" });
        var (extra, _) = await app.PostAsync("/api/block_types/", new { name = "x", slug = "x", colour = "red" });
        var (malformed, _) = await app.PostRawAsync("/api/block_types/", "{\"name\":");

        reserved.Should().Be(403);
        missingSlug.Should().Be(422);
        extra.Should().Be(422);
        malformed.Should().Be(422);
        (await app.PostAsync("/api/block_types/filter", new { block_types = new { slug = new { any_ = new[] { "x", "prefect-thing" } } } }))
            .Body!.AsArray().Should().BeEmpty("nothing refused was written");
    }

    [Fact]
    public async Task UpdateBlockType_ChangesOnlyTheFieldsSent_EvenOnBuiltinTypes()
    {
        await using var app = await TestApp.StartAsync(database);
        var (_, type) = await app.GetAsync("/api/block_types/slug/local-file-system");
        string id = type.Str("id")!;

        var (status, _) = await app.PatchAsync($"/api/block_types/{id}", new { description = "changed", documentation_url = (string?)null });
        var (_, read) = await app.GetAsync($"/api/block_types/{id}");
        var (missing, _) = await app.PatchAsync($"/api/block_types/{Guid.NewGuid()}", new { description = "x" });
        var (extra, _) = await app.PatchAsync($"/api/block_types/{id}", new { name = "renamed" });

        status.Should().Be(204);
        read.Str("description").Should().Be("changed");
        read.Str("logo_url").Should().Be(type.Str("logo_url"), "fields not sent keep their value");
        missing.Should().Be(404);
        extra.Should().Be(422, "a block type's name and slug are not updatable");
    }

    [Fact]
    public async Task DeleteBlockType_BuiltinIs403_OthersGoWithTheirSchemasAndDocuments()
    {
        await using var app = await TestApp.StartAsync(database);
        var (_, builtin) = await app.GetAsync("/api/block_types/slug/local-file-system");
        var (typeId, schemaId) = await CreateTypeAndSchemaAsync(app, "gone");
        var (_, document) = await app.PostAsync("/api/block_documents/", new { name = "doc", data = new { }, block_schema_id = schemaId, block_type_id = typeId });

        var (protectedStatus, _) = await app.DeleteAsync($"/api/block_types/{builtin.Str("id")}");
        var (deleted, _) = await app.DeleteAsync($"/api/block_types/{typeId}");
        var (again, _) = await app.DeleteAsync($"/api/block_types/{typeId}");

        protectedStatus.Should().Be(403);
        deleted.Should().Be(204);
        again.Should().Be(404);
        (await app.GetAsync($"/api/block_schemas/{schemaId}")).Status.Should().Be(404);
        (await app.GetAsync($"/api/block_documents/{document.Str("id")}")).Status.Should().Be(404);
    }

    [Fact]
    public async Task CreateBlockSchema_StoresTheClientsChecksum_AndRefusesAnIdenticalOneWith409()
    {
        await using var app = await TestApp.StartAsync(database);
        var (_, type) = await app.PostAsync("/api/block_types/", new { name = "Copy", slug = "copy" });
        var (_, builtin) = await app.GetAsync($"/api/block_schemas/checksum/{LocalFileSystemChecksum}");
        var body = new JsonObject
        {
            ["fields"] = builtin!["fields"]!.DeepClone(),
            ["block_type_id"] = type.Str("id"),
            ["capabilities"] = new JsonArray("read-path"),
            ["version"] = "9.9.9",
        };

        var (created, schema) = await app.PostAsync("/api/block_schemas/", body.ToJsonString());
        var (identical, conflict) = await app.PostAsync("/api/block_schemas/", body.ToJsonString());
        var (_, newest) = await app.GetAsync($"/api/block_schemas/checksum/{LocalFileSystemChecksum}");
        var (_, pinned) = await app.GetAsync($"/api/block_schemas/checksum/{LocalFileSystemChecksum}?version=2.7.0");

        created.Should().Be(201);
        schema.Str("checksum").Should().Be(LocalFileSystemChecksum, "the server hashes fields exactly as the client does");
        schema!["block_type"].Str("slug").Should().Be("copy");
        identical.Should().Be(409);
        conflict.Str("detail").Should().Be("Identical block schema already exists.");
        newest.Str("id").Should().Be(schema.Str("id"), "without a version the newest schema answers");
        pinned.Str("id").Should().Be(builtin.Str("id"));
    }

    [Fact]
    public async Task CreateBlockSchema_UnknownBlockType_Is404_AndUnknownChecksumIs404()
    {
        await using var app = await TestApp.StartAsync(database);

        var (unknownType, _) = await app.PostAsync("/api/block_schemas/", new { fields = new { }, block_type_id = Guid.NewGuid() });
        var (unknownChecksum, body) = await app.GetAsync("/api/block_schemas/checksum/sha256:0000");
        var (missingType, _) = await app.PostAsync("/api/block_schemas/", new { fields = new { } });

        unknownType.Should().Be(404);
        unknownChecksum.Should().Be(404);
        body.Str("detail").Should().Be("Block schema not found");
        missingType.Should().Be(422);
    }

    [Fact]
    public async Task FilterBlockSchemas_ByTypeAndCapability()
    {
        await using var app = await TestApp.StartAsync(database);
        var (typeId, schemaId) = await CreateTypeAndSchemaAsync(app, "filtered", capabilities: ["read-path", "write-path"]);

        var (_, byType) = await app.PostAsync("/api/block_schemas/filter", new { block_schemas = new { block_type_id = new { any_ = new[] { typeId } } } });
        var (_, byCapability) = await app.PostAsync("/api/block_schemas/filter", new { block_schemas = new { block_capabilities = new { all_ = new[] { "read-path", "write-path" } } } });
        var (_, none) = await app.PostAsync("/api/block_schemas/filter", new { block_schemas = new { block_capabilities = new { all_ = new[] { "fly" } } } });

        byType!.AsArray().Select(s => s.Str("id")).Should().Equal(schemaId.ToString());
        byCapability!.AsArray().Select(s => s.Str("id")).Should().Contain(schemaId.ToString());
        none!.AsArray().Should().BeEmpty();
    }

    [Fact]
    public async Task CreateBlockDocument_Anonymous_IsNamedAnonymousUuid_AndEmbedsSchemaAndType()
    {
        await using var app = await TestApp.StartAsync(database);
        var (_, type) = await app.GetAsync("/api/block_types/slug/local-file-system");
        var (_, schema) = await app.GetAsync($"/api/block_schemas/checksum/{LocalFileSystemChecksum}?version=2.7.0");

        var (status, document) = await app.PostAsync("/api/block_documents/", new
        {
            name = (string?)null,
            data = new { basepath = "/home/user/.prefect/storage" },
            block_schema_id = schema.Str("id"),
            block_type_id = type.Str("id"),
            is_anonymous = true,
        });
        var (_, read) = await app.GetAsync($"/api/block_documents/{document.Str("id")}");

        status.Should().Be(201);
        document.Str("name").Should().MatchRegex("^anonymous-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
        document!["is_anonymous"]!.GetValue<bool>().Should().BeTrue();
        document["block_schema"].Str("checksum").Should().Be(LocalFileSystemChecksum);
        document["block_type"].Str("slug").Should().Be("local-file-system");
        document["block_document_references"]!.AsObject().Should().BeEmpty();
        read!["data"]!.ToJsonString().Should().Be("{\"basepath\":\"/home/user/.prefect/storage\"}");
    }

    [Fact]
    public async Task CreateBlockDocument_NameRules_409ForTaken_422ForMissingOrMalformed()
    {
        await using var app = await TestApp.StartAsync(database);
        var (typeId, schemaId) = await CreateTypeAndSchemaAsync(app, "named");

        var (created, _) = await app.PostAsync("/api/block_documents/", new { name = "prod", data = new { }, block_schema_id = schemaId, block_type_id = typeId });
        var (taken, conflict) = await app.PostAsync("/api/block_documents/", new { name = "prod", data = new { }, block_schema_id = schemaId, block_type_id = typeId });
        var (unnamed, _) = await app.PostAsync("/api/block_documents/", new { data = new { }, block_schema_id = schemaId, block_type_id = typeId });
        var (badName, _) = await app.PostAsync("/api/block_documents/", new { name = "Prod Env", data = new { }, block_schema_id = schemaId, block_type_id = typeId });

        created.Should().Be(201);
        taken.Should().Be(409);
        conflict.Str("detail").Should().Be("Block already exists");
        unnamed.Should().Be(422);
        badName.Should().Be(422);
    }

    [Fact]
    public async Task CreateBlockDocument_UnknownSchemaOrType_Is404_AndNothingIsWritten()
    {
        await using var app = await TestApp.StartAsync(database);
        var (typeId, schemaId) = await CreateTypeAndSchemaAsync(app, "refs");

        var (unknownSchema, _) = await app.PostAsync("/api/block_documents/", new { name = "a", data = new { }, block_schema_id = Guid.NewGuid(), block_type_id = typeId });
        var (unknownType, _) = await app.PostAsync("/api/block_documents/", new { name = "b", data = new { }, block_schema_id = schemaId, block_type_id = Guid.NewGuid() });
        var (_, builtin) = await app.GetAsync("/api/block_types/slug/local-file-system");
        var (mismatch, _) = await app.PostAsync("/api/block_documents/", new { name = "c", data = new { }, block_schema_id = schemaId, block_type_id = builtin.Str("id") });
        var (_, all) = await app.PostAsync("/api/block_documents/filter", new { });

        unknownSchema.Should().Be(404);
        unknownType.Should().Be(404);
        mismatch.Should().Be(409);
        all!.AsArray().Should().BeEmpty();
        (await app.GetAsync($"/api/block_documents/{Guid.NewGuid()}")).Status.Should().Be(404);
    }

    [Fact]
    public async Task ReadBlockDocument_HidesSecretFields_UnlessIncludeSecrets()
    {
        await using var app = await TestApp.StartAsync(database);
        var (typeId, schemaId) = await CreateTypeAndSchemaAsync(app, "creds", fields: SecretFields);
        var (_, document) = await app.PostAsync("/api/block_documents/", new
        {
            name = "db", data = new { user = "me", password = "hunter2" }, block_schema_id = schemaId, block_type_id = typeId,
        });
        string id = document.Str("id")!;

        var (_, hidden) = await app.GetAsync($"/api/block_documents/{id}");
        var (_, shown) = await app.GetAsync($"/api/block_documents/{id}?include_secrets=true");
        var (_, loaded) = await app.GetAsync("/api/block_types/slug/creds/block_documents/name/db?include_secrets=true");
        var (missing, _) = await app.GetAsync("/api/block_types/slug/creds/block_documents/name/nope");

        document!["data"].Str("password").Should().Be("********");
        hidden!["data"].Str("password").Should().Be("********");
        hidden["data"].Str("user").Should().Be("me");
        shown!["data"].Str("password").Should().Be("hunter2");
        loaded!["data"].Str("password").Should().Be("hunter2");
        missing.Should().Be(404);
    }

    [Fact]
    public async Task UpdateBlockDocument_MergesByDefault_ReplacesWhenAsked_AndKeepsSecretsSentBackHidden()
    {
        await using var app = await TestApp.StartAsync(database);
        var (typeId, schemaId) = await CreateTypeAndSchemaAsync(app, "upd", fields: SecretFields);
        var (_, document) = await app.PostAsync("/api/block_documents/", new
        {
            name = "db", data = new { user = "me", password = "hunter2" }, block_schema_id = schemaId, block_type_id = typeId,
        });
        string id = document.Str("id")!;

        var (merged, _) = await app.PatchAsync($"/api/block_documents/{id}", new { data = new { user = "you", password = "********" } });
        var (_, afterMerge) = await app.GetAsync($"/api/block_documents/{id}?include_secrets=true");
        var (replaced, _) = await app.PatchAsync($"/api/block_documents/{id}", new { data = new { user = "them" }, merge_existing_data = false });
        var (_, afterReplace) = await app.GetAsync($"/api/block_documents/{id}?include_secrets=true");
        var (missing, _) = await app.PatchAsync($"/api/block_documents/{Guid.NewGuid()}", new { data = new { } });

        merged.Should().Be(204);
        afterMerge!["data"].Str("user").Should().Be("you");
        afterMerge["data"].Str("password").Should().Be("hunter2");
        replaced.Should().Be(204);
        afterReplace!["data"]!.AsObject().Select(p => p.Key).Should().Equal("user");
        missing.Should().Be(404);
        (await app.DeleteAsync($"/api/block_documents/{id}")).Status.Should().Be(204);
        (await app.DeleteAsync($"/api/block_documents/{id}")).Status.Should().Be(404);
    }

    [Fact]
    public async Task FilterBlockDocuments_LeavesAnonymousOut_UnlessAskedFor()
    {
        await using var app = await TestApp.StartAsync(database);
        var (typeId, schemaId) = await CreateTypeAndSchemaAsync(app, "mixed");
        await app.PostAsync("/api/block_documents/", new { name = "b-named", data = new { }, block_schema_id = schemaId, block_type_id = typeId });
        await app.PostAsync("/api/block_documents/", new { name = "a-named", data = new { }, block_schema_id = schemaId, block_type_id = typeId });
        await app.PostAsync("/api/block_documents/", new { is_anonymous = true, data = new { }, block_schema_id = schemaId, block_type_id = typeId });

        var (_, named) = await app.PostAsync("/api/block_documents/filter", new { });
        var (_, anonymous) = await app.PostAsync("/api/block_documents/filter", new { block_documents = new { is_anonymous = new { eq_ = true } } });
        var (_, ofType) = await app.GetAsync("/api/block_types/slug/mixed/block_documents");
        var (_, paged) = await app.PostAsync("/api/block_documents/filter", new { block_types = new { slug = new { any_ = new[] { "mixed" } } }, limit = 1, offset = 1 });

        named!.AsArray().Select(d => d.Str("name")).Should().Equal("a-named", "b-named");
        anonymous!.AsArray().Should().ContainSingle().Which.Str("name").Should().StartWith("anonymous-");
        ofType!.AsArray().Select(d => d.Str("name")).Should().Equal("a-named", "b-named");
        paged!.AsArray().Select(d => d.Str("name")).Should().Equal("b-named");
    }

    [Fact]
    public async Task API_DP_05_Deployment_AcceptsAnExistingBlockDocument_AndItsRunsInheritTheInfrastructure()
    {
        await using var app = await TestApp.StartAsync(database);
        var (typeId, schemaId) = await CreateTypeAndSchemaAsync(app, "my-infrastructure");
        var (_, document) = await app.PostAsync("/api/block_documents/", new { name = "infra", data = new { }, block_schema_id = schemaId, block_type_id = typeId });
        Guid flowId = await app.CreateFlowAsync();

        var (created, deployment) = await app.PostAsync("/api/deployments/", new { name = "d", flow_id = flowId, infrastructure_document_id = document.Str("id") });
        var (_, run) = await app.PostAsync($"/api/deployments/{deployment.Str("id")}/create_flow_run", new { });

        created.Should().Be(201);
        deployment.Str("infrastructure_document_id").Should().Be(document.Str("id"));
        run.Str("infrastructure_document_id").Should().Be(document.Str("id"));
    }

    [Fact]
    public async Task SystemBlockTypes_AreBuiltIn_Protected_AndInstallingThemAgainChangesNothing()
    {
        await using var app = await TestApp.StartAsync(database);
        var beforeTypes = (await app.PostAsync("/api/block_types/filter", new { })).Body!.AsArray();
        var before = beforeTypes.Select(t => t.Str("slug")).ToList();
        int schemasBefore = (await app.PostAsync("/api/block_schemas/filter", new { })).Body!.AsArray().Count;

        var (status, body) = await app.PostAsync("/api/block_types/install_system_block_types");
        var after = (await app.PostAsync("/api/block_types/filter", new { })).Body!.AsArray();

        status.Should().Be(200);
        body.Should().BeNull();
        before.Should().Contain(["json", "date-time", "secret", "local-file-system", "process"]);
        after.Select(t => t.Str("slug")).Should().Equal(before);
        after.Select(t => t.Str("id")).Should().Equal(beforeTypes.Select(t => t.Str("id")), "the types are kept, not created again");
        (await app.PostAsync("/api/block_schemas/filter", new { })).Body!.AsArray().Should().HaveCount(schemasBefore);
        after.Should().OnlyContain(t => t!["is_protected"]!.GetValue<bool>());
    }

    [Fact]
    public async Task ProcessSchema_IsFoundByTheChecksumThe2_7ClientComputes()
    {
        await using var app = await TestApp.StartAsync(database);

        var (status, schema) = await app.GetAsync("/api/block_schemas/checksum/sha256:47c4ac364708f4a6f27fb10b18086ad92c0a53fbbdd9ba07c030467067979f84?version=2.7.0");

        status.Should().Be(200);
        schema!["block_type"].Str("slug").Should().Be("process");
    }

    [Fact]
    public async Task BlockCapabilities_AreTheUnionOfEverySchemasCapabilities()
    {
        await using var app = await TestApp.StartAsync(database);
        await CreateTypeAndSchemaAsync(app, "notifier", capabilities: ["notify"]);

        var (status, capabilities) = await app.GetAsync("/api/block_capabilities/");

        status.Should().Be(200);
        capabilities!.AsArray().Select(c => c!.GetValue<string>()).Should()
            .BeEquivalentTo("get-directory", "put-directory", "read-path", "write-path", "run-infrastructure", "notify");
    }

    private static async Task<(Guid TypeId, Guid SchemaId)> CreateTypeAndSchemaAsync(
        TestApp app, string slug, object? fields = null, string[]? capabilities = null)
    {
        var (typeStatus, type) = await app.PostAsync("/api/block_types/", new { name = slug, slug });
        typeStatus.Should().Be(201);
        var (schemaStatus, schema) = await app.PostAsync("/api/block_schemas/", new
        {
            fields = fields ?? new { title = slug, type = "object" },
            block_type_id = type.Str("id"),
            capabilities = capabilities ?? [],
        });
        schemaStatus.Should().Be(201);
        return (IdOf(type), IdOf(schema));
    }
}

public sealed class BlocksApiTestsOnSqlite() : BlocksApiTests(DatabaseKind.Sqlite);

public sealed class BlocksApiTestsOnPostgres() : BlocksApiTests(DatabaseKind.Postgres);
