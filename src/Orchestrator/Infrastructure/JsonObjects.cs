namespace Orchestrator.Infrastructure;

public static class JsonObjects
{
    /// <summary>A shallow merge of two JSON objects; keys of <paramref name="overlay"/> win.</summary>
    public static RawJson Merge(RawJson baseObject, RawJson overlay)
    {
        var merged = System.Text.Json.Nodes.JsonNode.Parse(baseObject.Text)!.AsObject();
        foreach (var (key, value) in System.Text.Json.Nodes.JsonNode.Parse(overlay.Text)!.AsObject())
        {
            merged[key] = value?.DeepClone();
        }

        return new RawJson(merged.ToJsonString());
    }
}
