# Build stage: restore with the central package versions, then publish the server in Release.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Orchestrator/Orchestrator.csproj src/Orchestrator/
RUN dotnet restore src/Orchestrator/Orchestrator.csproj
COPY src/ src/
RUN dotnet publish src/Orchestrator/Orchestrator.csproj -c Release -o /app --no-restore

# Runtime stage: the ASP.NET runtime and curl for the health check.
FROM mcr.microsoft.com/dotnet/aspnet:10.0
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app .
ENV URLS=http://0.0.0.0:4200
EXPOSE 4200
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:4200/api/health || exit 1
ENTRYPOINT ["dotnet", "Orchestrator.dll"]
