using Orchestrator.Schemas.Validation;

namespace Orchestrator.Schemas;

/// <summary><c>limit</c> and <c>offset</c> of the filter endpoints, validated as Prefect does.</summary>
public sealed record Paging(int Limit, int Offset) : IRequestBody<Paging>
{
    public const int MaxLimit = 200;

    /// <summary>A body of only a page (<c>/concurrency_limits/filter</c>) ignores other keys.</summary>
    public static bool ForbidsExtraKeys => false;

    public static Paging Read(JsonObjectReader r)
    {
        int limit = r.Int("limit") ?? MaxLimit;
        int offset = r.Int("offset") ?? 0;
        if (offset < 0)
        {
            r.Error("offset", "ensure this value is greater than or equal to 0", "value_error.number.not_ge");
        }

        return new Paging(limit, offset);
    }

    /// <summary>
    /// An out-of-range limit is refused by Prefect's handlers rather than its schema: a 422 with a plain
    /// <c>detail</c> message, after the body was otherwise accepted.
    /// </summary>
    public string? LimitProblem => Limit switch
    {
        < 0 => "Invalid limit: must be greater than or equal to 0.",
        > MaxLimit => $"Invalid limit: must be less than or equal to {MaxLimit}.",
        _ => null,
    };

    public IQueryable<T> Apply<T>(IQueryable<T> query) => query.Skip(Offset).Take(Limit);
}
