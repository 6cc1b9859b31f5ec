using System.Net.Sockets;
using System.Text;

namespace Orchestrator.Tests.Infrastructure;

/// <summary>Requests no HTTP client would send (a header promising a body never sent, a broken chunk), written to the socket as they are.</summary>
public static class RawHttp
{
    /// <summary>Writes <paramref name="request"/> to a server on real HTTP and returns the status line of its answer.</summary>
    public static async Task<string?> StatusLineAsync(TestApp app, string request)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(app.Client.BaseAddress!.Host, app.Client.BaseAddress.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await reader.ReadLineAsync(timeout.Token);
    }
}
