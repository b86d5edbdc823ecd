"""The wrappers an interceptor puts around each method's handler, built once per method rather
than on every call (grpc.aio asks the interceptors at each call)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import grpc

Wrapper = TypeVar("Wrapper")


class WrappedHandlers(Generic[Wrapper]):
    def __init__(self) -> None:
        # Method → (the handler it was given, its wrapper). A different handler for the same
        # method (a server rebuilt in a test) gets a wrapper of its own.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, Wrapper]] = {}

    def get(self, method: str, handler: grpc.RpcMethodHandler, wrap: Callable[[grpc.RpcMethodHandler], Wrapper]) -> Wrapper:
        cached = self._wrapped.get(method)
        if cached is None or cached[0] is not handler:
            cached = self._wrapped[method] = (handler, wrap(handler))
        return cached[1]
