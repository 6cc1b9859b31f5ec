using Orchestrator.Data;

namespace Orchestrator.Orchestration;

/// <summary>
/// An ordered list of rules (and, for the global policies, bookkeeping transforms); the order is the
/// priority. Compiling it for a transition yields fresh
/// instances of the rules that apply to that (from, to) pair, in list order.
/// </summary>
public sealed class OrchestrationPolicy(string name, IReadOnlyList<Func<OrchestrationRule>> rules)
{
    public string Name { get; } = name;

    /// <summary>The rule names in priority order, for the rules endpoint and the logs.</summary>
    public IReadOnlyList<string> RuleNames { get; } = rules.Select(create => create().Name).ToArray();

    public IReadOnlyList<OrchestrationRule> CompileTransitionRules(StateType? fromType, StateType? toType)
    {
        var compiled = new List<OrchestrationRule>(rules.Count);
        foreach (var create in rules)
        {
            OrchestrationRule rule = create();
            if (rule.FromStates.Contains(fromType) && rule.ToStates.Contains(toType))
            {
                rule.Bind(fromType, toType);
                compiled.Add(rule);
            }
        }

        return compiled;
    }
}
