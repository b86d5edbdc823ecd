"""What operators see of a running service: Prometheus metrics (one registry per application),
the per-order log lines, the log format, and the event loop's lag. Nothing here imports gRPC:
the RPC interceptor that feeds these metrics is the api package's."""
