using Orchestrator.Tests.Infrastructure;
using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: TestFramework("Orchestrator.Tests.Infrastructure.TestRunOutput", "Orchestrator.Tests")]

namespace Orchestrator.Tests.Infrastructure;

/// <summary>
/// xunit's own test framework, keeping hold of its diagnostic sink so that shared infrastructure (which
/// no test class owns) can say what it chose in the runner's output, such as which PostgreSQL server the
/// run uses. The lines appear as <c>[xUnit.net …] Orchestrator.Tests: …</c> because
/// <c>xunit.runner.json</c> turns diagnostic messages on.
/// </summary>
public sealed class TestRunOutput : XunitTestFramework
{
    private static IMessageSink? _sink;

    public TestRunOutput(IMessageSink diagnosticMessageSink)
        : base(diagnosticMessageSink)
    {
        _sink = diagnosticMessageSink;
    }

    /// <summary>Writes one line to the test runner's output (stderr when no runner is listening).</summary>
    public static void Say(string line)
    {
        if (_sink is { } sink)
        {
            sink.OnMessage(new DiagnosticMessage(line));
        }
        else
        {
            Console.Error.WriteLine(line);
        }
    }
}
