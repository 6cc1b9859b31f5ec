namespace Orchestrator.Orchestration;

/// <summary>
/// Runs one transition through its rules: before hooks in priority order, then the bookkeeping
/// transforms, then validation (staging the state to be written), then after hooks in reverse. The engine alone decides
/// which hook of a rule runs (none when invalid, cleanup when fizzled).
/// </summary>
public static class OrchestrationEngine
{
    /// <summary>
    /// Makes the proposed state the run's new state in the unit of work. Supplied by the caller, which
    /// owns the database work (and answers a write that fails when it saves), so engine tests can drive
    /// the life cycle without one.
    /// </summary>
    public delegate void StateStager(OrchestrationContext context);

    /// <param name="rules">The compiled policy rules followed by the compiled global transforms.</param>
    public static async Task RunAsync(
        OrchestrationContext context,
        IReadOnlyList<OrchestrationRule> rules,
        StateStager stage,
        CancellationToken cancellationToken)
    {
        foreach (OrchestrationRule rule in rules)
        {
            await EnterAsync(rule, context, cancellationToken);
        }

        Validate(context, stage);

        // Exits run in reverse; an exception in one exit does not stop the others, the first one wins.
        Exception? exitError = null;
        for (int i = rules.Count - 1; i >= 0; i--)
        {
            Exception? error = await CaptureAsync(() => ExitAsync(rules[i], context, cancellationToken));
            exitError ??= error;
        }

        if (context.OrchestrationError is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(context.OrchestrationError);
        }

        if (exitError is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(exitError);
        }
    }

    private static async Task EnterAsync(OrchestrationRule rule, OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (rule is UniversalTransform)
        {
            // Transforms see the real context and always run; a failing one fails the request.
            await rule.BeforeTransitionAsync(context, cancellationToken);
            return;
        }

        if (rule.IsInvalid(context))
        {
            return;
        }

        try
        {
            await rule.BeforeTransitionAsync(context, cancellationToken);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            context.ProposedState = null;
            context.ResponseStatus = SetStateStatus.Abort;
            context.ResponseDetails = ResponseDetails.Abort($"Aborting orchestration due to error in {rule.Name}: !{error.GetType().Name}('{error.Message}')");
            context.OrchestrationError = error;
        }

        context.Trace.Add(new RuleOutcome(rule.Name, rule.Outcome));
    }

    private static async Task ExitAsync(OrchestrationRule rule, OrchestrationContext context, CancellationToken cancellationToken)
    {
        if (rule is UniversalTransform)
        {
            if (context.OrchestrationError is null)
            {
                await rule.AfterTransitionAsync(context, cancellationToken);
            }

            return;
        }

        if (rule.IsInvalid(context))
        {
            return;
        }

        if (rule.IsFizzled(context))
        {
            context.Trace.Add(new RuleOutcome(rule.Name, "fizzled"));
            await rule.CleanupAsync(context, cancellationToken);
        }
        else
        {
            await rule.AfterTransitionAsync(context, cancellationToken);
        }
    }

    private static void Validate(OrchestrationContext context, StateStager stage)
    {
        if (context.ProposedState is null)
        {
            context.ValidatedState = null;
            return;
        }

        stage(context);
        context.ValidatedState = context.ProposedState;
    }

    private static async Task<Exception?> CaptureAsync(Func<Task> action)
    {
        try
        {
            await action();
            return null;
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            return error;
        }
    }
}
