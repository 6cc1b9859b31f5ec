using Microsoft.AspNetCore.Http.Features;

namespace Orchestrator.Api.Security;

/// <summary>Settings of the <c>Server</c> configuration section: what a request may cost and who may send one from a browser.</summary>
public sealed class ServerOptions
{
    public const string Section = "Server";

    /// <summary>The largest request body read; larger ones are answered 413 before being read. The Prefect client's log batches are at most 4 MB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 5 * 1024 * 1024;

    /// <summary>Web origins (<c>https://dashboard.example</c>) whose pages may call the API; none but the server's own by default.</summary>
    public string[] AllowedOrigins { get; set; } = [];
}

/// <summary>
/// Checks made before a request reaches an endpoint: its body's size, and where a browser sent it from.
/// </summary>
public static class RequestGuards
{
    public static IApplicationBuilder UseRequestGuards(this IApplicationBuilder app, ServerOptions options)
    {
        string tooLarge = TooLarge(options);
        return app.Use(async (context, next) =>
        {
            if (!IsSafe(context.Request.Method) && context.Request.Headers.Origin is [{ } origin, ..] && !IsAllowedOrigin(context.Request, origin, options))
            {
                // A page of another site can POST here without a preflight (a form, or text/plain); it must
                // not change anything. Same-origin pages and configured origins may.
                await Refuse(context, StatusCodes.Status403Forbidden, $"Requests from the origin {origin} are not allowed; add it to Server:AllowedOrigins.");
                return;
            }

            if (context.Request.ContentLength > options.MaxRequestBodyBytes)
            {
                context.Response.Headers.Connection = "close";
                await Refuse(context, StatusCodes.Status413PayloadTooLarge, tooLarge);
                await DiscardBodyAsync(context, options);
                return;
            }

            // A body without a length (chunked) is counted as it is read: Kestrel stops at its limit (set
            // where it is configured), other servers (the in-memory test server) at this stream's. A body
            // with a length was checked above and cannot run longer.
            if (context.Request.ContentLength is null)
            {
                context.Request.Body = new LimitedStream(context.Request.Body, options.MaxRequestBodyBytes, tooLarge);
            }

            await next(context);
        });
    }

    /// <summary>
    /// The refused body is read and dropped, up to a few times the limit, so a client that sends it all
    /// before reading the answer gets the 413 rather than a reset connection; a larger one is cut off.
    /// </summary>
    private static async Task DiscardBodyAsync(HttpContext context, ServerOptions options)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }

        long budget = Math.Min(options.MaxRequestBodyBytes * 4, 64L * 1024 * 1024);
        byte[] buffer = new byte[64 * 1024];
        try
        {
            int read;
            while (budget > 0 && (read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                budget -= read;
            }
        }
        catch (Exception error) when (error is IOException or BadHttpRequestException or OperationCanceledException)
        {
            // The client gave up first; the answer is already sent.
        }
    }

    private static string TooLarge(ServerOptions options) =>
        $"The request body is larger than {options.MaxRequestBodyBytes} bytes (Server:MaxRequestBodyBytes).";

    private static bool IsSafe(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method);

    private static bool IsAllowedOrigin(HttpRequest request, string origin, ServerOptions options) =>
        string.Equals(origin, $"{request.Scheme}://{request.Host}", StringComparison.OrdinalIgnoreCase)
        || options.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase);

    private static Task Refuse(HttpContext context, int status, string detail)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new Detail(detail), Infrastructure.Json.Options);
    }

    /// <summary>Reads at most <c>limit</c> bytes of the inner stream, then refuses with 413.</summary>
    private sealed class LimitedStream(Stream inner, long limit, string message) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Count(await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken));

        private int Count(int read)
        {
            _read += read;
            return _read > limit ? throw new BadHttpRequestException(message, StatusCodes.Status413PayloadTooLarge) : read;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
