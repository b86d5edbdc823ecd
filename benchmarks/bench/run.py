"""What every scenario is handed: the options, the load pool, the figures gathered so far, and
the baselines (measured once per run, on demand)."""

from __future__ import annotations

import argparse
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from benchmarks.bench import servers
from benchmarks.bench.databases import throwaway_postgres
from benchmarks.bench.figures import Figure
from benchmarks.bench.load import LoadPool, Result
from benchmarks.bench.messages import sizes


@dataclass
class Run:
    options: argparse.Namespace
    load: LoadPool
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=sizes)
    _unary: dict[int, Result] = field(default_factory=dict)

    @property
    def quick(self) -> bool:
        return bool(self.options.quick)

    @property
    def seconds(self) -> float:
        return self.options.seconds

    @property
    def warm_up(self) -> float:
        return 0.2 if self.quick else 1.0

    @property
    def databases(self) -> list[str]:
        return {"sqlite": ["sqlite"], "postgresql": ["postgresql"], "both": ["sqlite", "postgresql"]}[self.options.database]

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    _bare: servers.Running | None = None

    async def bare(self) -> servers.Running:
        """The bare grpc.aio server: one process for the whole run, idle between its phases."""
        if self._bare is None:
            self._bare = await self.stack.enter_async_context(servers.bare_server())
        return self._bare

    async def bare_unary(self, concurrency: int) -> Result:
        """The bare unary RPC closed loop at `concurrency` (once per run)."""
        if concurrency not in self._unary:
            bare = await self.bare()
            request = b"r" * self.sizes["PlaceOrderRequest"]
            self._unary[concurrency] = await self.load.closed_loop(
                bare.address, servers.BARE_UNARY, [request], concurrency, self.seconds, self.warm_up, bare.pid)
            self.details[f"bare unary c{concurrency}"] = self._unary[concurrency].as_dict()
        return self._unary[concurrency]


async def database_url(stack: AsyncExitStack, database: str) -> str | None:
    """None for SQLite (the server makes its own temp dir), or a throwaway PostgreSQL database."""
    if database == "sqlite":
        return None
    return await stack.enter_async_context(throwaway_postgres())
