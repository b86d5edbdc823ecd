"""The HTTP endpoint Prometheus scrapes: prometheus_client's own server, in a daemon thread,
started and stopped with the application. It serves the metrics (any path; /metrics is the
convention) and nothing else; the metrics carry no tokens, keys or order contents."""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

from execution_server.auth.open_access import is_loopback


class MetricsEndpoint:
    def __init__(self, address: str, registry: CollectorRegistry) -> None:
        self._address = address
        self._registry = registry
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self) -> int:
        """Listen (an OSError if the address is taken) and return the port."""
        host, _, port = self._address.rpartition(":")
        host = host.strip("[]")
        self._server, self._thread = start_http_server(int(port), addr=host, registry=self._registry)
        self.port = self._server.server_address[1]
        return self.port

    @property
    def url(self) -> str:
        host = self._address.rpartition(":")[0]
        return f"http://{host}:{self.port}/metrics"

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()  # waits for the serving loop (a poll of at most 0.5 s) to end
            server.server_close()


def exposure_warning(address: str) -> str | None:
    """The start-up WARNING when the metrics are reachable from other machines, or None."""
    if is_loopback(address):
        return None
    return (f"metrics served on {address[:64]}, which is not loopback: anyone who reaches it sees order flow "
            "and risk state (no tokens or keys); restrict it with a firewall or bind to 127.0.0.1")
