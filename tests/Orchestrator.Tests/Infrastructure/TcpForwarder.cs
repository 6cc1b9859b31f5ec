using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Tests.Infrastructure;

/// <summary>
/// A loopback port that forwards to another address, hanging up on the first few connections it takes,
/// as a database that is still starting does.
/// </summary>
public sealed class TcpForwarder : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _refused;

    public TcpForwarder(string host, int port, int refuseFirst)
    {
        _listener.Start();
        _accepting = AcceptAsync(host, port, refuseFirst);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>How many connections were hung up on.</summary>
    public int Refused => Volatile.Read(ref _refused);

    private async Task AcceptAsync(string host, int port, int refuseFirst)
    {
        var connections = new List<Task>();
        int accepted = 0;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                if (accepted++ < refuseFirst)
                {
                    client.Client.LingerState = new LingerOption(true, 0);
                    client.Dispose();
                    Interlocked.Increment(ref _refused);
                    continue;
                }

                connections.Add(ForwardAsync(client, host, port));
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }

        await Task.WhenAll(connections);
    }

    private async Task ForwardAsync(TcpClient client, string host, int port)
    {
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                await server.ConnectAsync(host, port, _stop.Token);
                await using var inbound = client.GetStream();
                await using var outbound = server.GetStream();
                await Task.WhenAny(inbound.CopyToAsync(outbound, _stop.Token), outbound.CopyToAsync(inbound, _stop.Token));
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                // Either side hung up.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
