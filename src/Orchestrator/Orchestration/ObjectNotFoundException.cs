namespace Orchestrator.Orchestration;

/// <summary>A run or related row the procedure needs does not exist; the API answers 404.</summary>
public sealed class ObjectNotFoundException(string message) : Exception(message);
