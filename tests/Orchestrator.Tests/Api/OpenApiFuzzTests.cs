using System.Data.Common;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Tests.Infrastructure;
using static Orchestrator.Tests.Infrastructure.ApiCalls;

namespace Orchestrator.Tests.Api;

/// <summary>
/// Thousands of malformed requests against every operation of our own OpenAPI document, generated with
/// CsCheck from each operation's parameters and body schema. Each request carries at least one fault the
/// server must refuse (a bad version header, a body that is not JSON or not text, a value of the wrong
/// type anywhere in the body, a malformed id, too many items, too long a name, too many bytes) among
/// otherwise plausible values. Every answer is 4xx and small, no connection drops, and no table gains or
/// loses a row. The seed is fixed, so a failure names a request that fails again;
/// <c>ORCHESTRATOR_FUZZ_CASES</c> runs more (the benchmark script does).
/// </summary>
public abstract class OpenApiFuzzTests(DatabaseKind database)
{
    private const int BodyLimit = 64 * 1024;

    private static int Cases => int.TryParse(Environment.GetEnvironmentVariable("ORCHESTRATOR_FUZZ_CASES"), out int n) ? n : 2500;

    private enum Fault
    {
        BadVersionHeader,
        NotJsonContentType,
        BrokenJson,
        TextNoDatabaseStores,
        WrongType,
        MalformedId,
        TooManyItems,
        TooLong,
        TooLarge,
    }

    private sealed record Operation(string Method, string Path, JsonArray Parameters, JsonObject? Body);

    private sealed record FuzzRequest(string Method, string Path, Fault Fault, string? Version, string? ContentType, byte[]? Body)
    {
        public override string ToString() =>
            $"{Method} {Path} [{Fault}] version={Version ?? "-"} type={ContentType ?? "-"} body={(Body is null ? "-" : Encoding.UTF8.GetString(Body[..Math.Min(Body.Length, 400)]))}";
    }

    [Fact]
    public async Task MalformedRequestsToEveryOperation_AreAnswered4xx_AndChangeNoRow()
    {
        await using var app = await TestApp.StartAsync(database, settings: new() { ["Server:MaxRequestBodyBytes"] = BodyLimit.ToString() }, realHttp: true);
        await SeedAsync(app);
        var operations = await OperationsAsync(app);
        var before = await RowCountsAsync(app);
        var gen = Gen.Int[0, operations.Count - 1].SelectMany(i => ForOperation(operations[i]));
        var pcg = new PCG(1, 20261201);
        var failures = new List<string>();
        var faultsSeen = new HashSet<Fault>();

        for (int i = 0; i < Cases && failures.Count < 10; i++)
        {
            FuzzRequest request = gen.Generate(pcg, null!, out _);
            faultsSeen.Add(request.Fault);
            try
            {
                var (status, length) = await SendAsync(app, request);
                if (status is < 400 or >= 500)
                {
                    failures.Add($"#{i} answered {status}: {request}");
                }
                else if (length > 64 * 1024)
                {
                    failures.Add($"#{i} answered {length} bytes: {request}");
                }
            }
            catch (HttpRequestException error)
            {
                failures.Add($"#{i} dropped the connection ({error.Message}): {request}");
            }
        }

        failures.Should().BeEmpty();
        faultsSeen.Should().HaveCount(Enum.GetValues<Fault>().Length, "every kind of fault was tried");
        (await RowCountsAsync(app)).Should().Equal(before);
        (await app.GetAsync("/api/health")).Status.Should().Be(200);
    }

    /// <summary>One row or more in the tables requests could touch, so a wrong delete or update would show.</summary>
    private static async Task SeedAsync(TestApp app)
    {
        Guid flow = await app.CreateFlowAsync("seeded");
        Guid flowRun = IdOf(await app.CreateFlowRunAsync(flow, state: new { type = "RUNNING" }));
        Guid task = IdOf(await app.CreateTaskRunAsync(flowRun, extra: new { tags = new[] { "seeded" } }));
        await app.CreateLimitAsync("seeded", 5);
        await app.SetTaskRunStateAsync(task, new { type = "RUNNING" });
        await app.PostAsync("/api/deployments/", new { name = "seeded", flow_id = flow });
        await app.PostAsync("/api/work_queues/", new { name = "seeded" });
        await app.PostAsync("/api/logs/", new[] { new { name = "seed", level = 20, message = "m", timestamp = Iso(DateTime.UtcNow), flow_run_id = flowRun } });
        await app.PutAsync("/api/saved_searches/", new { name = "seeded", filters = Array.Empty<object>() });
    }

    private static async Task<List<Operation>> OperationsAsync(TestApp app)
    {
        var document = JsonNode.Parse(await app.Client.GetStringAsync("/swagger/v1/swagger.json"))!;
        var operations = new List<Operation>();
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                var parameters = operation!["parameters"]?.AsArray() ?? [];
                var body = Resolve(document, operation["requestBody"]?["content"]?["application/json"]?["schema"]);
                operations.Add(new Operation(method.ToUpperInvariant(), path, parameters, body));
            }
        }

        // Operations that take no input have nothing to malform, except /api's version header.
        return operations.Where(o => Faults(o).Length > 0).ToList();
    }

    private static JsonObject? Resolve(JsonNode document, JsonNode? schema)
    {
        if (schema?["$ref"]?.GetValue<string>() is { } reference)
        {
            return document["components"]!["schemas"]![reference.Split('/')[^1]]!.AsObject();
        }

        return schema as JsonObject;
    }

    private static Fault[] Faults(Operation operation)
    {
        var faults = new List<Fault>();
        if (operation.Path.StartsWith("/api/", StringComparison.Ordinal) && operation.Path is not ("/api/health" or "/api/hello"))
        {
            faults.Add(Fault.BadVersionHeader);
        }

        if (operation.Parameters.Any(p => p!["in"]!.GetValue<string>() == "path" && p["schema"]?["format"]?.GetValue<string>() == "uuid"))
        {
            faults.Add(Fault.MalformedId);
        }

        if (operation.Body is { } body)
        {
            faults.AddRange([Fault.NotJsonContentType, Fault.BrokenJson, Fault.TextNoDatabaseStores, Fault.TooLarge]);
            if (Fields(body).Any())
            {
                faults.Add(Fault.WrongType);
            }

            if (Fields(body).Any(f => f.Schema["maxItems"] is not null))
            {
                faults.Add(Fault.TooManyItems);
            }

            if (Fields(body).Any(f => f.Schema["maxLength"] is not null))
            {
                faults.Add(Fault.TooLong);
            }
        }

        return [.. faults];
    }

    /// <summary>Every typed property of the body, nested objects' included, with the keys leading to it.</summary>
    private static List<(string[] Path, JsonObject Schema)> Fields(JsonObject schema, string[]? prefix = null)
    {
        var fields = new List<(string[], JsonObject)>();
        foreach (var (key, value) in schema["properties"]?.AsObject() ?? [])
        {
            if (value is not JsonObject property || Type(property) is null)
            {
                continue;
            }

            string[] path = [.. prefix ?? [], key];
            fields.Add((path, property));
            if (Type(property) == "object" && path.Length < 4)
            {
                fields.AddRange(Fields(property, path));
            }
        }

        return fields;
    }

    private static string? Type(JsonObject schema) => schema["type"] switch
    {
        JsonValue v => v.GetValue<string>(),
        JsonArray a => a.Select(t => t!.GetValue<string>()).FirstOrDefault(t => t != "null"),
        _ => null,
    };

    private static Gen<FuzzRequest> ForOperation(Operation operation) =>
        from fault in Gen.OneOf(Faults(operation))
        from path in PathFor(operation, malformedId: fault == Fault.MalformedId)
        from body in operation.Body is null ? Always<JsonNode?>(null) : Value(operation.Body, depth: 0)
        from faulty in FaultyBody(fault, operation.Body, body)
        from version in fault == Fault.BadVersionHeader ? Gen.OneOf<string?>("99999999999.0.0", "1.2", "a.b.c", "-1.0.0", "0.7.9", "1.2.3.4", "") : Always<string?>(null)
        from contentType in fault == Fault.NotJsonContentType ? Gen.OneOf<string?>("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml") : Gen.Const<string?>("application/json")
        select new FuzzRequest(operation.Method, path, fault, version, operation.Body is null ? null : contentType, operation.Body is null ? null : faulty);

    private static Gen<string> PathFor(Operation operation, bool malformedId)
    {
        var segments = operation.Parameters.Where(p => p!["in"]!.GetValue<string>() == "path").ToList();
        return segments.Aggregate(Gen.Const(operation.Path), (pathGen, parameter) =>
            from path in pathGen
            from value in parameter!["schema"]?["format"]?.GetValue<string>() == "uuid"
                ? malformedId ? Gen.OneOf("not-a-uuid", "1", "00000000-0000-0000-0000", "%00", "%FF%FE", new string('9', 300)) : Gen.Guid.Select(g => g.ToString())
                : Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyz-_0123456789"], 1, 30].Select(Uri.EscapeDataString)
            select path.Replace("{" + parameter!["name"]!.GetValue<string>() + "}", value, StringComparison.Ordinal));
    }

    /// <summary>The body as bytes, spoiled the way the fault says (most faults spoil something else and send it as is).</summary>
    private static Gen<byte[]?> FaultyBody(Fault fault, JsonObject? schema, JsonNode? body)
    {
        if (schema is null)
        {
            return Always<byte[]?>(null);
        }

        byte[] Bytes(JsonNode? node) => Encoding.UTF8.GetBytes(node?.ToJsonString() ?? "null");
        return fault switch
        {
            Fault.BrokenJson => Gen.OneOf(
                Encoding.UTF8.GetBytes("{\"name\": "),
                Encoding.UTF8.GetBytes("{'single': 'quotes'}"),
                [.. "{\"name\": \""u8.ToArray(), 0xC3, 0x28, 0xFF, .. "\"}"u8.ToArray()],
                Encoding.UTF8.GetBytes(new string('[', 200) + new string(']', 200)),
                Encoding.UTF8.GetBytes("{\"a\": 1,}")).Select(b => (byte[]?)b),
            Fault.TextNoDatabaseStores =>
                from key in Gen.OneOf(KeysOf(schema))
                from text in Gen.OneOf("\\u0000", "x\\ud800y", "\\udfff", "nul\\u0000end")
                select (byte[]?)Encoding.UTF8.GetBytes(WithRawString(body, key, text)),
            Fault.WrongType =>
                from field in Gen.OneOf(Fields(schema).ToArray())
                from wrong in WrongValue(field.Schema)
                select (byte[]?)Bytes(With(body, field.Path, wrong)),
            Fault.TooManyItems =>
                from field in Gen.OneOf(Fields(schema).Where(f => f.Schema["maxItems"] is not null).ToArray())
                from extra in Gen.Int[1, 500]
                let count = field.Schema["maxItems"]!.GetValue<int>() + extra
                select (byte[]?)Bytes(With(body, field.Path, new JsonArray(Enumerable.Range(0, count).Select(i => (JsonNode?)SampleItem(field.Schema["items"]!.AsObject(), i)).ToArray()))),
            Fault.TooLong =>
                from field in Gen.OneOf(Fields(schema).Where(f => f.Schema["maxLength"] is not null).ToArray())
                from extra in Gen.Int[1, 5000]
                select (byte[]?)Bytes(With(body, field.Path, new string('n', field.Schema["maxLength"]!.GetValue<int>() + extra))),
            Fault.TooLarge => Always((byte[]?)Bytes(With(body, [KeysOf(schema)[0]], new string('x', BodyLimit + 1)))),
            _ => Always((byte[]?)Bytes(body)),
        };
    }

    private static string[] KeysOf(JsonObject schema) =>
        schema["properties"]?.AsObject().Select(p => p.Key).ToArray() is { Length: > 0 } keys ? keys : ["name"];

    /// <summary>A copy of the body with the value at the path, making the objects on the way.</summary>
    private static JsonNode With(JsonNode? body, string[] path, JsonNode? value)
    {
        var copy = body is JsonObject o ? o.DeepClone().AsObject() : new JsonObject();
        JsonObject parent = copy;
        foreach (string key in path[..^1])
        {
            if (parent[key] is not JsonObject next)
            {
                next = new JsonObject();
                parent[key] = next;
            }

            parent = next;
        }

        // Generated values may be shared constants, and a node has one parent.
        parent[path[^1]] = value?.DeepClone();
        return copy;
    }

    /// <summary>JSON text with an escape written as is (a JsonNode cannot hold a lone surrogate or write a raw escape).</summary>
    private static string WithRawString(JsonNode? body, string key, string escaped)
    {
        const string Marker = "@@FUZZ@@";
        return With(body, [key], Marker).ToJsonString().Replace($"\"{Marker}\"", $"\"{escaped}\"", StringComparison.Ordinal);
    }

    private static JsonNode SampleItem(JsonObject items, int i) => Type(items) switch
    {
        "integer" or "number" => i,
        "boolean" => i % 2 == 0,
        _ when items["format"]?.GetValue<string>() == "uuid" => Guid.NewGuid().ToString(),
        _ when items["enum"] is JsonArray values => values[i % values.Count]!.DeepClone(),
        _ => $"item-{i}",
    };

    /// <summary>A value no reader of this type accepts.</summary>
    private static Gen<JsonNode?> WrongValue(JsonObject schema) => Type(schema) switch
    {
        "string" when schema["enum"] is not null => Gen.OneOf<JsonNode?>("NOT_A_MEMBER", 7, new JsonObject()),
        "string" when schema["format"]?.GetValue<string>() is "uuid" => Gen.OneOf<JsonNode?>("not-a-uuid", 12, new JsonArray()),
        "string" when schema["format"]?.GetValue<string>() is "date-time" => Gen.OneOf<JsonNode?>("yesterday", "2026-13-45T99:00:00Z", new JsonObject()),
        "string" => Gen.OneOf<JsonNode?>(42, true, new JsonObject { ["a"] = 1 }, new JsonArray(1, 2)),
        "integer" => Gen.OneOf<JsonNode?>("many", new JsonObject(), new JsonArray(), true, 1e30),
        "number" => Gen.OneOf<JsonNode?>("lots", new JsonObject(), new JsonArray(), true),
        "boolean" => Gen.OneOf<JsonNode?>("perhaps", 2, new JsonObject(), new JsonArray()),
        "array" => Gen.OneOf<JsonNode?>("one", 3, new JsonObject { ["a"] = 1 }, true),
        _ => Gen.OneOf<JsonNode?>("not an object", 5, new JsonArray(1), false),
    };

    /// <summary>A plausible value for the schema: the noise around the fault.</summary>
    private static Gen<JsonNode?> Value(JsonObject schema, int depth)
    {
        if (depth > 3)
        {
            return Always<JsonNode?>(null);
        }

        return Type(schema) switch
        {
            "object" => ObjectValue(schema, depth),
            "array" when schema["items"] is JsonObject items => Value(items, depth + 1).List[0, 3].Select(list => (JsonNode?)new JsonArray([.. list.Select(v => v?.DeepClone())])),
            "array" => Gen.Const<JsonNode?>(() => new JsonArray()),
            "string" when schema["enum"] is JsonArray values => Gen.OneOf(values.Select(v => v!.DeepClone()).ToArray()).Select(v => (JsonNode?)v),
            "string" when schema["format"]?.GetValue<string>() == "uuid" => Gen.Guid.Select(g => (JsonNode?)g.ToString()),
            "string" when schema["format"]?.GetValue<string>() == "date-time" => Gen.DateTime[new DateTime(2000, 1, 1), new DateTime(2100, 1, 1)].Select(d => (JsonNode?)d.ToString("yyyy-MM-ddTHH:mm:ssZ")),
            "string" => Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyz _-éü"], 0, 20].Select(s => (JsonNode?)s),
            "integer" => Gen.Int[-5, 500].Select(i => (JsonNode?)i),
            "number" => Gen.Double[-1000, 1000].Select(d => (JsonNode?)d),
            "boolean" => Gen.Bool.Select(b => (JsonNode?)b),
            _ => Gen.OneOf<JsonNode?>(null, 1, "free", new JsonObject { ["k"] = "v" }),
        };
    }

    private static Gen<JsonNode?> ObjectValue(JsonObject schema, int depth)
    {
        var properties = schema["properties"]?.AsObject().Select(p => (p.Key, Schema: p.Value as JsonObject ?? [])).ToList() ?? [];
        Gen<JsonObject> result = Gen.Const(0).Select(_ => new JsonObject());
        foreach (var (key, propertySchema) in properties)
        {
            result =
                from obj in result
                from include in Gen.Int[0, 2]
                from value in Value(propertySchema, depth + 1)
                select include == 0 ? obj : Add(obj, key, value);
        }

        return result.Select(o => (JsonNode?)o);
    }

    /// <summary>A generator of one value (Gen.Const with a null literal is ambiguous between its overloads).</summary>
    private static Gen<T> Always<T>(T value) => Gen.Const(value);

    private static JsonObject Add(JsonObject obj, string key, JsonNode? value)
    {
        obj[key] = value?.DeepClone();
        return obj;
    }

    private static async Task<(int Status, int Length)> SendAsync(TestApp app, FuzzRequest request)
    {
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Path);
        if (request.Version is not null)
        {
            message.Headers.TryAddWithoutValidation("X-PREFECT-API-VERSION", request.Version);
        }

        if (request.Body is not null)
        {
            message.Content = new ByteArrayContent(request.Body);
            message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
        }

        using var response = await app.Client.SendAsync(message);
        byte[] answer = await response.Content.ReadAsByteArrayAsync();
        return ((int)response.StatusCode, answer.Length);
    }

    private static Task<List<(string Table, long Rows)>> RowCountsAsync(TestApp app) => app.WithDbAsync(async db =>
    {
        DbConnection connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync();
        var tables = new List<string>();
        await using (var list = connection.CreateCommand())
        {
            list.CommandText = db.IsPostgres
                ? "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
                : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        var counts = new List<(string, long)>();
        foreach (string table in tables)
        {
            await using var count = connection.CreateCommand();
            count.CommandText = $"SELECT COUNT(*) FROM \"{table}\"";
            counts.Add((table, Convert.ToInt64(await count.ExecuteScalarAsync())));
        }

        return counts;
    });
}

public sealed class OpenApiFuzzTestsOnSqlite() : OpenApiFuzzTests(DatabaseKind.Sqlite);

public sealed class OpenApiFuzzTestsOnPostgres() : OpenApiFuzzTests(DatabaseKind.Postgres);
