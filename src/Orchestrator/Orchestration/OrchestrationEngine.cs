namespace Orchestrator.Orchestration;

/// <summary>
/// Runs one transition through its rules: before hooks in priority order, then the bookkeeping
/// transforms, then validation (writing the state), then after hooks in reverse. The engine alone decides
/// which hook of a rule runs (none when invalid, cleanup when fizzled).
/// </summary>
public static class OrchestrationEngine
{
    public const string WriteFailedReason = "Error validating state: [the state could not be written]";

    /// <summary>
    /// Writes the proposed state; returns whether it succeeded. Supplied by the caller, which owns the
    /// database work, so engine tests can drive the life cycle without one.
    /// </summary>
    public delegate Task<bool> Validator(OrchestrationContext context, CancellationToken cancellationToken);

    /// <param name="rules">The compiled policy rules followed by the compiled global transforms.</param>
    public static async Task RunAsync(
        OrchestrationContext context,
        IReadOnlyList<OrchestrationRule> rules,
        Validator validate,
        CancellationToken cancellationToken)
    {
        foreach (OrchestrationRule rule in rules)
        {
            await EnterAsync(rule, context, cancellationToken);
        }

        await ValidateAsync(context, validate, cancellationToken);

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

        context.Trace.Add($"{rule.Name}:{rule.Outcome}");
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
            context.Trace.Add($"{rule.Name}:fizzled");
            await rule.CleanupAsync(context, cancellationToken);
        }
        else
        {
            await rule.AfterTransitionAsync(context, cancellationToken);
        }
    }

    private static async Task ValidateAsync(OrchestrationContext context, Validator validate, CancellationToken cancellationToken)
    {
        if (context.ProposedState is null)
        {
            context.ValidatedState = null;
            return;
        }

        // One retry, as Prefect does; a write that fails twice aborts and leaves the run as it was.
        for (int attempt = 0; attempt < 2; attempt++)
        {
            if (await validate(context, cancellationToken))
            {
                context.ValidatedState = context.ProposedState;
                return;
            }
        }

        context.ProposedState = null;
        context.ResponseStatus = SetStateStatus.Abort;
        context.ResponseDetails = ResponseDetails.Abort(WriteFailedReason);
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
