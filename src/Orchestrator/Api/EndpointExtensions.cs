namespace Orchestrator.Api;

public static class EndpointExtensions
{
    /// <summary>
    /// Documents the JSON body of an endpoint without making routing refuse other content types: the
    /// Prefect server reads the body as JSON whatever the client declares.
    /// </summary>
    public static RouteHandlerBuilder AcceptsJson<TBody>(this RouteHandlerBuilder builder) where TBody : notnull =>
        builder.Accepts<TBody>(isOptional: true, "application/json", "*/*");
}
