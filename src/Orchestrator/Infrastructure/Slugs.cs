namespace Orchestrator.Infrastructure;

/// <summary>Random two-word run names, as Prefect gives runs created without one.</summary>
public static class Slugs
{
    private static readonly string[] Adjectives =
    [
        "amber", "brave", "calm", "crimson", "daring", "eager", "fancy", "gentle", "happy", "icy", "jolly", "keen",
        "lively", "mellow", "nimble", "olive", "proud", "quick", "rustic", "silver", "tidy", "upbeat", "vivid", "witty",
    ];

    private static readonly string[] Animals =
    [
        "ant", "bear", "cat", "dingo", "eagle", "fox", "gecko", "heron", "ibis", "jaguar", "koala", "lemur",
        "moose", "newt", "otter", "panda", "quail", "raven", "seal", "tiger", "urchin", "viper", "walrus", "yak",
    ];

    public static string Random() =>
        $"{Adjectives[System.Random.Shared.Next(Adjectives.Length)]}-{Animals[System.Random.Shared.Next(Animals.Length)]}";
}
