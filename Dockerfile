# The server's image: `docker compose up --build` builds it (see docker-compose.yml).
#
# The base images are build arguments so a machine that cannot pull Microsoft's images can name its own
# (CI here builds stand-ins, see .ci/docker-images.sh). The SDK is pinned to a patch version: the build
# treats warnings as errors, and a newer SDK may bring new warnings.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0.401
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0.12

# Build stage: restore with the central package versions, then publish the server in Release.
FROM ${SDK_IMAGE} AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Orchestrator/Orchestrator.csproj src/Orchestrator/
RUN dotnet restore src/Orchestrator/Orchestrator.csproj
COPY src/ src/
RUN dotnet publish src/Orchestrator/Orchestrator.csproj -c Release -o /app --no-restore

# Runtime stage: the ASP.NET Core runtime, curl for the health check, and the image's non-root user.
FROM ${RUNTIME_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app .
ENV URLS=http://0.0.0.0:4200
EXPOSE 4200
# Microsoft's .NET images name their unprivileged user's id in APP_UID (the user "app").
USER $APP_UID
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=5 \
  CMD curl -fsS http://127.0.0.1:4200/health/ready || exit 1
ENTRYPOINT ["dotnet", "Orchestrator.dll"]
