using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Schemas.Validation;

namespace Orchestrator.Api;

/// <summary><c>limit</c> and <c>offset</c> of the filter endpoints, validated as Prefect does.</summary>
public sealed record Paging(int Limit, int Offset)
{
    public const int MaxLimit = 200;

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

    /// <summary>An out-of-range limit is a handler error in Prefect, with a plain <c>detail</c> body.</summary>
    public UnprocessableEntity<Detail>? Refusal() => Limit switch
    {
        < 0 => ErrorBodies.Unprocessable("Invalid limit: must be greater than or equal to 0."),
        > MaxLimit => ErrorBodies.Unprocessable($"Invalid limit: must be less than or equal to {MaxLimit}."),
        _ => null,
    };

    public IQueryable<T> Apply<T>(IQueryable<T> query) => query.Skip(Offset).Take(Limit);
}

/// <summary>What every <c>/filter</c> body holds besides its filters.</summary>
public sealed record FilterRequest(Schemas.FilterSet Filters, string? Sort, Paging Paging);
