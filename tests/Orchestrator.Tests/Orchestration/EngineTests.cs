using Orchestrator.Data;
using Orchestrator.Orchestration;
using Orchestrator.Orchestration.Policies;
using static Orchestrator.Tests.Orchestration.Contexts;

namespace Orchestrator.Tests.Orchestration;

/// <summary>The rule life cycle (test-scenarios.md A and B), on in-memory runs.</summary>
public sealed class EngineTests
{
    private static readonly IReadOnlySet<StateType?> Running = StateSets.Of(StateType.Running);

    [Fact]
    public async Task ENG_01_Validation_RunsOnceWithTheContext()
    {
        var context = Task(StateType.Pending, StateType.Running);
        int calls = 0;
        OrchestrationContext? seen = null;

        await OrchestrationEngine.RunAsync(context, Bind(context, new ProbeRule()), ctx =>
        {
            calls++;
            seen = ctx;
        }, CancellationToken.None);

        calls.Should().Be(1);
        seen.Should().BeSameAs(context);
    }

    [Fact]
    public async Task ENG_02_ValidRule_RunsBeforeAndAfterHooks()
    {
        var context = Task(StateType.Pending, StateType.Running);
        var rule = new ProbeRule();

        await RunAsync(context, rule);

        (rule.Before, rule.After, rule.Cleanup).Should().Be((1, 1, 0));
        rule.Invalid(context).Should().BeFalse();
        rule.Fizzled(context).Should().BeFalse();
    }

    [Fact]
    public async Task ENG_03_RuleForAnotherTransition_IsANoOp()
    {
        var context = Task(StateType.Pending, StateType.Running);
        var rule = new ProbeRule();
        rule.Bind(StateType.Scheduled, StateType.Completed);

        await OrchestrationEngine.RunAsync(context, [rule], Stage, CancellationToken.None);

        (rule.Before, rule.After, rule.Cleanup).Should().Be((0, 0, 0));
        rule.Invalid(context).Should().BeTrue();
        rule.Fizzled(context).Should().BeFalse();
    }

    [Fact]
    public async Task ENG_04_ChangedInitialState_FizzlesTheRule()
    {
        var context = Task(StateType.Pending, StateType.Running);
        int sideEffect = 0;
        var rule = new ProbeRule(
            before: (_, ctx) => { sideEffect++; ctx.InitialState = NewState(StateType.Scheduled); },
            after: (_, _) => sideEffect++);

        await RunAsync(context, rule);

        (rule.Before, rule.After, rule.Cleanup).Should().Be((1, 0, 1));
        sideEffect.Should().Be(1, "cleanup ran instead of the after hook");
        rule.Invalid(context).Should().BeFalse();
        rule.Fizzled(context).Should().BeTrue();
    }

    [Fact]
    public async Task ENG_05_ChangedProposedState_FizzlesTheRule()
    {
        var context = Task(StateType.Pending, StateType.Running);
        var rule = new ProbeRule(before: (_, ctx) => ctx.ProposedState = NewState(StateType.Completed));

        await RunAsync(context, rule);

        (rule.Before, rule.After, rule.Cleanup).Should().Be((1, 0, 1));
        rule.Fizzled(context).Should().BeTrue();
    }

    [Fact]
    public async Task ENG_06_RejectingRule_DoesNotFizzleItself()
    {
        var context = Task(StateType.Pending, StateType.Running);
        var rule = new ProbeRule(before: (r, ctx) => r.Reject(ctx, NewState(StateType.Completed)));

        await RunAsync(context, rule);

        (rule.Before, rule.After, rule.Cleanup).Should().Be((1, 1, 0));
        rule.Invalid(context).Should().BeFalse();
        rule.Fizzled(context).Should().BeFalse();
        context.ResponseStatus.Should().Be(SetStateStatus.Reject);
    }

    [Fact]
    public async Task ENG_07_DelayingRule_DoesNotFizzleItself()
    {
        var context = Task(StateType.Pending, StateType.Running);
        var rule = new ProbeRule(before: (r, ctx) => r.Delay(ctx, 42));

        await RunAsync(context, rule);

        (rule.Before, rule.After, rule.Cleanup).Should().Be((1, 1, 0));
        rule.Fizzled(context).Should().BeFalse();
    }

    [Fact]
    public async Task ENG_08_AbortingRule_DoesNotFizzleItself()
    {
        var context = Task(StateType.Pending, StateType.Running);
        var rule = new ProbeRule(before: (r, ctx) => r.Abort(ctx));

        await RunAsync(context, rule);

        (rule.Before, rule.After, rule.Cleanup).Should().Be((1, 1, 0));
        rule.Fizzled(context).Should().BeFalse();
    }

    [Fact]
    public async Task ENG_09_ParametersFlowToLaterRules_ButAreReadOnlyToThem()
    {
        var context = Task(StateType.Pending, StateType.Running);
        object? read = null;
        var first = new ProbeRule(before: (r, ctx) => r.SetParameter(ctx, "a special message", "hello!"));
        var second = new ProbeRule(before: (_, ctx) => read = ctx.Parameters["a special message"]);

        await RunAsync(context, first, second);

        read.Should().Be("hello!");
        second.Before.Should().Be(1);
        context.Parameters.Should().BeAssignableTo<IReadOnlyDictionary<string, object?>>();
    }

    public static IEnumerable<object?[]> TypeOrNoneToType =>
        from i in TypesAndNone from p in StateTypes.All select new object?[] { i, p };

    [Theory]
    [MemberData(nameof(TypeOrNoneToType))]
    public async Task ENG_10_ExceptionInBeforeHook_AbortsAndFizzlesEveryEnteredRule(StateType? initial, StateType proposed)
    {
        var context = Task(initial, proposed);
        var outer = new ProbeRule();
        var failing = new ProbeRule(before: (_, _) => throw new InvalidOperationException("boom"), name: "FailingRule");

        var act = () => RunAsync(context, outer, failing);

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("boom");
        context.ProposedState.Should().BeNull();
        context.OrchestrationError.Should().BeOfType<InvalidOperationException>();
        context.ResponseStatus.Should().Be(SetStateStatus.Abort);
        context.ResponseDetails.Reason.Should().StartWith("Aborting orchestration due to error in FailingRule: !");
        (outer.Before, outer.After, outer.Cleanup).Should().Be((1, 0, 1));
        (failing.Before, failing.After, failing.Cleanup).Should().Be((1, 0, 1));
        outer.Fizzled(context).Should().BeTrue();
        failing.Fizzled(context).Should().BeTrue();
    }

    [Theory]
    [MemberData(nameof(AllPairsWithInitialType))]
    public async Task ENG_11_RuleWhoseFromStatesExcludeTheInitialType_RunsNoHook(StateType? initial)
    {
        var context = Task(initial, null);
        var rule = new ProbeRule(from: new HashSet<StateType?>(TypesAndNone.Where(t => t != initial)));

        await RunAsync(context, rule);

        (rule.Before, rule.After, rule.Cleanup).Should().Be((0, 0, 0));
        rule.Invalid(context).Should().BeTrue();
    }

    [Theory]
    [MemberData(nameof(AllPairsWithInitialType))]
    public async Task ENG_12_RuleWhoseToStatesExcludeTheProposedType_RunsNoHook(StateType? proposed)
    {
        var context = Task(null, proposed);
        var rule = new ProbeRule(to: new HashSet<StateType?>(TypesAndNone.Where(t => t != proposed)));

        await RunAsync(context, rule);

        (rule.Before, rule.After, rule.Cleanup).Should().Be((0, 0, 0));
        rule.Invalid(context).Should().BeTrue();
    }

    public static IEnumerable<object?[]> AllPairsWithInitialType => TypesAndNone.Select(t => new object?[] { t });

    public static IEnumerable<object?[]> Pairs => AllPairs;

    [Theory]
    [MemberData(nameof(Pairs))]
    public async Task ENG_13_NestedValidRules_RunBeforeHooksInOrderAndAfterHooksInReverse(StateType? initial, StateType? proposed)
    {
        var context = Task(initial, proposed);
        var order = new List<string>();
        var first = new ProbeRule(before: (_, _) => order.Add("before 1"), after: (_, _) => order.Add("after 1"));
        var second = new ProbeRule(before: (_, _) => order.Add("before 2"), after: (_, _) => order.Add("after 2"));

        await RunAsync(context, first, second);

        order.Should().Equal("before 1", "before 2", "after 2", "after 1");
        (first.Cleanup, second.Cleanup).Should().Be((0, 0));
        first.Fizzled(context).Should().BeFalse();
        second.Invalid(context).Should().BeFalse();
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public async Task ENG_14_Mutation_FizzlesEarlierRulesAndInvalidatesLaterOnes(StateType? initial, StateType? proposed)
    {
        var context = Task(initial, proposed);
        StateType third = StateTypes.All.First(t => t != initial && t != proposed);
        int sideEffect = 0;
        var first = new ProbeRule(before: (_, _) => sideEffect++, after: (_, _) => sideEffect++);
        var mutator = new ProbeRule(before: (r, ctx) => r.Reject(ctx, NewState(third)));
        var last = new ProbeRule(before: (_, _) => sideEffect++, after: (_, _) => sideEffect++);

        await RunAsync(context, first, mutator, last);

        (last.Before, last.After, last.Cleanup).Should().Be((0, 0, 0));
        last.Invalid(context).Should().BeTrue();
        (mutator.After, mutator.Cleanup).Should().Be((1, 0));
        mutator.Fizzled(context).Should().BeFalse();
        (first.After, first.Cleanup).Should().Be((0, 1));
        first.Fizzled(context).Should().BeTrue();
        sideEffect.Should().Be(1, "the first rule's before hook ran and its cleanup replaced the after hook");
    }

    [Fact]
    public async Task ENG_15_UniversalTransform_RunsBothHooks()
    {
        var context = Task(StateType.Running, StateType.Completed);
        var transform = new ProbeTransform();

        await RunAsync(context, transform);

        (transform.Before, transform.After).Should().Be((1, 1));
    }

    [Theory]
    [MemberData(nameof(TypeOrNoneToType))]
    public async Task ENG_16_UniversalTransform_FiresEvenWhenTheInitialStateChanges(StateType? initial, StateType proposed)
    {
        var context = Task(initial, proposed);
        var transform = new ProbeTransform(before: ctx => ctx.InitialState = NewState(StateType.Paused));

        await RunAsync(context, transform);

        (transform.Before, transform.After).Should().Be((1, 1));
    }

    [Theory]
    [MemberData(nameof(AllPairsWithInitialType))]
    public async Task ENG_17_UniversalTransform_FiresOnNullifiedTransitions(StateType? initial)
    {
        var context = Task(initial, null);
        var transform = new ProbeTransform();

        await RunAsync(context, transform);

        (transform.Before, transform.After).Should().Be((1, 1));
    }

    [Fact]
    public async Task ENG_18_UniversalTransform_SkipsItsAfterHook_WhenARuleFailed()
    {
        var context = Task(StateType.Pending, StateType.Running);
        var failing = new ProbeRule(before: (_, _) => throw new InvalidOperationException("boom"));
        var transform = new ProbeTransform();

        var act = () => RunAsync(context, failing, transform);

        await act.Should().ThrowAsync<InvalidOperationException>();
        (transform.Before, transform.After).Should().Be((1, 0));
    }

    [Fact]
    public async Task ENG_19_RulesCannotChangeTheContextThroughTheStatesTheyRead()
    {
        var context = Task(StateType.Pending, StateType.Running);
        State? copy = null;
        var rule = new ProbeRule(before: (_, ctx) => copy = ctx.ProposedState! with { Type = StateType.Failed });

        await RunAsync(context, rule);

        copy!.Type.Should().Be(StateType.Failed);
        context.InitialStateType.Should().Be(StateType.Pending);
        context.ProposedStateType.Should().Be(StateType.Running);
        context.ValidatedStateType.Should().Be(StateType.Running);
        typeof(State).GetProperties().Should().OnlyContain(p => p.SetMethod == null || p.SetMethod.ReturnParameter.GetRequiredCustomModifiers().Length > 0,
            "states are immutable records (init-only properties)");
    }

    [Fact]
    public async Task ENG_20_RejectInBeforeHook_WritesTheReplacement()
    {
        foreach (var context in new[] { Task(StateType.Pending, StateType.Running), Flow(StateType.Pending, StateType.Running) })
        {
            await RunAsync(context, new ProbeRule(before: (r, ctx) => r.Reject(ctx, NewState(StateType.Completed))));

            context.ProposedStateType.Should().Be(StateType.Completed);
            context.ValidatedStateType.Should().Be(StateType.Completed);
        }
    }

    [Fact]
    public async Task ENG_21_23_25_MutatorsAfterValidation_AreErrors()
    {
        foreach (var mutate in new Action<ProbeRule, OrchestrationContext>[]
        {
            (r, ctx) => r.Reject(ctx, NewState(StateType.Completed)),
            (r, ctx) => r.Delay(ctx, 42),
            (r, ctx) => r.Abort(ctx),
        })
        {
            var context = Task(StateType.Pending, StateType.Running);

            var act = () => RunAsync(context, new ProbeRule(after: mutate));

            await act.Should().ThrowAsync<InvalidOperationException>();
            context.ValidatedStateType.Should().Be(StateType.Running);
            context.ResponseStatus.Should().Be(SetStateStatus.Accept);
        }
    }

    [Theory]
    [InlineData(42)]
    [InlineData(424242)]
    public async Task ENG_22_DelayInBeforeHook_Waits(int seconds)
    {
        var context = Flow(StateType.Pending, StateType.Running);

        await RunAsync(context, new ProbeRule(before: (r, ctx) => r.Delay(ctx, seconds)));

        context.ProposedState.Should().BeNull();
        context.ResponseStatus.Should().Be(SetStateStatus.Wait);
        context.ResponseDetails.DelaySeconds.Should().Be(seconds);
    }

    [Fact]
    public async Task ENG_24_AbortInBeforeHook_WritesNothing()
    {
        var context = Task(StateType.Pending, StateType.Running);

        await RunAsync(context, new ProbeRule(before: (r, ctx) => r.Abort(ctx)));

        context.ProposedState.Should().BeNull();
        context.ValidatedState.Should().BeNull();
        context.ResponseStatus.Should().Be(SetStateStatus.Abort);
        context.Run.StateId.Should().BeNull();
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public async Task ENG_26_Validation_WritesTheProposedType(StateType? initial, StateType? proposed)
    {
        var context = Flow(initial, proposed);

        await RunAsync(context);

        context.ValidatedStateType.Should().Be(proposed);
    }

    [Fact]
    public async Task ENG_27_28_Validation_PointsTheRunAtTheNewState()
    {
        var context = Task(StateType.Pending, StateType.Running);
        Guid proposedId = context.ProposedState!.Id;
        context.Run.StateId.Should().NotBe(proposedId);

        await RunAsync(context);

        context.Run.StateId.Should().Be(proposedId);
        context.ValidatedState!.Id.Should().Be(proposedId);
    }

    public static IEnumerable<object?[]> DistinctPairs => AllPairs.Where(p => !Equals(p[0], p[1]));

    [Theory]
    [MemberData(nameof(DistinctPairs))]
    public async Task ENG_29_Validation_StagesTheProposedStateOnce_AndNothingWhenNullified(StateType? initial, StateType? proposed)
    {
        var context = Task(initial, proposed);
        var rule = new ProbeRule();
        int staged = 0;

        await OrchestrationEngine.RunAsync(context, Bind(context, rule), ctx => { staged++; Stage(ctx); }, CancellationToken.None);

        staged.Should().Be(proposed is null ? 0 : 1);
        context.ValidatedState.Should().Be(context.ProposedState);
        (rule.Before, rule.After, rule.Cleanup).Should().Be((1, 1, 0));
    }

    [Fact]
    public async Task ENG_31_MutatingRuleWhoseNewTargetIsOutsideItsToStates_IsInvalidAtExit()
    {
        foreach (var mutate in new Action<ProbeRule, OrchestrationContext>[]
        {
            (r, ctx) => r.Delay(ctx, 5),
            (r, ctx) => r.Abort(ctx),
            (r, ctx) => r.Reject(ctx, NewState(StateType.Completed)),
        })
        {
            var context = Task(StateType.Pending, StateType.Running);
            var narrow = new ProbeRule(to: Running, before: mutate);

            await RunAsync(context, narrow);

            (narrow.After, narrow.Cleanup).Should().Be((0, 0));
            narrow.Invalid(context).Should().BeTrue();
        }
    }

    [Fact]
    public async Task ENG_32_RuleArgumentsAreImmutable_TheRunIsLive()
    {
        var context = Task(StateType.Pending, StateType.Running);

        await RunAsync(context, new ProbeRule(before: (_, ctx) => ctx.Run.RunCount = 41));

        context.Run.RunCount.Should().Be(41);
    }

    [Fact]
    public void POL_01_CompiledOrder_FollowsThePolicyOrder()
    {
        Func<OrchestrationRule> a = () => new ProbeRule(name: "A");
        Func<OrchestrationRule> b = () => new ProbeRule(name: "B");

        var forward = new OrchestrationPolicy("p1", [a, b]).CompileTransitionRules(StateType.Running, StateType.Completed).Select(r => r.Name);
        var same = new OrchestrationPolicy("p2", [a, b]).CompileTransitionRules(StateType.Running, StateType.Completed).Select(r => r.Name);
        var reversed = new OrchestrationPolicy("p3", [b, a]).CompileTransitionRules(StateType.Running, StateType.Completed).Select(r => r.Name);

        forward.Should().Equal(same);
        forward.Should().NotEqual(reversed);
    }

    [Fact]
    public void POL_02_OnlyApplicableRules_AreCompiled()
    {
        var policy = new OrchestrationPolicy("p",
        [
            () => new ProbeRule(StateSets.None, StateSets.None, name: "UselessRule"),
            () => new ProbeRule(StateSets.None, StateSets.None, name: "UnenforcableRule"),
            () => new ProbeRule(name: "ValidRule"),
        ]);

        policy.CompileTransitionRules(StateType.Pending, StateType.Running).Select(r => r.Name).Should().Equal("ValidRule");
    }

    [Fact]
    public void POL_03_MinimalPolicies_RunNoRuleForFlowsAndOnlySlotReleaseForTasks()
    {
        foreach (var (from, to) in AllPairs.Select(p => ((StateType?)p[0], (StateType?)p[1])))
        {
            MinimalFlowPolicy.Instance.CompileTransitionRules(from, to).Should().BeEmpty();
            MinimalTaskPolicy.Instance.CompileTransitionRules(from, to).Select(r => r.Name).Should().Equal("ReleaseTaskConcurrencySlots");
        }
    }

    [Fact]
    public void CorePolicies_ListTheirRulesInPriorityOrder()
    {
        CoreFlowPolicy.Instance.RuleNames.Should().Equal(
            "PreventDuplicateTransitions", "HandleFlowTerminalStateTransitions", "PreventRedundantTransitions", "WaitForScheduledTime", "RetryFailedFlows",
            "SecureWorkQueueConcurrencySlots");
        CoreTaskPolicy.Instance.RuleNames.Should().Equal(
            "PreventDuplicateTransitions", "CacheRetrieval", "HandleTaskTerminalStateTransitions", "PreventRedundantTransitions", "SecureTaskConcurrencySlots",
            "WaitForScheduledTime", "RetryFailedTasks", "RenameReruns", "UpdateFlowRunTrackerOnTasks", "CacheInsertion",
            "ReleaseTaskConcurrencySlots");
        GlobalFlowPolicy.Instance.RuleNames.Should().HaveCount(13).And.EndWith("QueueFlowRunNotifications");
        GlobalTaskPolicy.Instance.RuleNames.Should().HaveCount(10);
    }
}
