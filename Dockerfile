# syntax=docker/dockerfile:1
# Build: docker build -t execution-server .
# Run:   docker run -p 50051:50051 -v execution-var:/app/var -v ./execution.toml:/app/execution.toml:ro \
#          -e EXECUTION_CONFIG=/app/execution.toml execution-server
# The image listens on 0.0.0.0, so it refuses to start without an [auth] section (README: "Who
# may do what"); with [server.tls] on, point the HEALTHCHECK at the CA (`health --ca-file ...`,
# and --cert-file/--key-file for mutual TLS).

FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY pyproject.toml requirements.lock README.md ./
COPY execution_server ./execution_server
COPY generated ./generated
# The lock pins the whole tree: the image installs what CI tested. Without the [dev] extra no
# test or code-generation tool is installed, so there is nothing to remove afterwards; a failed
# install or an inconsistent tree (pip check) fails the build.
RUN /opt/venv/bin/pip install -c requirements.lock . \
 && /opt/venv/bin/pip check

FROM python:3.11-slim
RUN groupadd --system execution && useradd --system --gid execution --home /app execution
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
RUN mkdir -p /app/var && chown execution:execution /app/var
USER execution
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    EXECUTION_GRPC_ADDRESS=0.0.0.0:50051 \
    EXECUTION_DATABASE_URL=sqlite+aiosqlite:////app/var/execution.db \
    EXECUTION_SIMULATOR_STATE=/app/var/simulator.jsonl
VOLUME ["/app/var"]
EXPOSE 50051
# grpc.health.v1.Health/Check through the service's own client: SERVING or unhealthy.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["execution-server", "health", "--address", "127.0.0.1:50051"]
ENTRYPOINT ["execution-server"]
CMD ["serve"]
