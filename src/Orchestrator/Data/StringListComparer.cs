using Microsoft.EntityFrameworkCore.ChangeTracking;

namespace Orchestrator.Data;

/// <summary>Change tracking for <c>List&lt;string&gt;</c> columns (tags, capabilities): by content, in order.</summary>
public sealed class StringListComparer : ValueComparer<List<string>>
{
    public static readonly StringListComparer Instance = new();

    private StringListComparer()
        : base((a, b) => AreEqual(a, b), v => HashOf(v), v => Copy(v))
    {
    }

    public static bool AreEqual(List<string>? a, List<string>? b) =>
        ReferenceEquals(a, b) || (a is not null && b is not null && a.SequenceEqual(b, StringComparer.Ordinal));

    public static int HashOf(List<string> list)
    {
        var hash = new HashCode();
        foreach (string item in list)
        {
            hash.Add(item, StringComparer.Ordinal);
        }

        return hash.ToHashCode();
    }

    public static List<string> Copy(List<string> list) => [.. list];
}
