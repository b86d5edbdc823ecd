"""Reads beside the writer (GetOrder, ListOrders, past reconcile runs): a database that cannot
answer is StoreUnavailable (UNAVAILABLE to a client), as it is for a change, never a bare
driver error that the API would have to call INTERNAL."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from execution_server.store.writer import StoreUnavailable

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def read_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    try:
        async with engine.connect() as conn:
            yield conn
    except (SQLAlchemyError, OSError) as error:  # TimeoutError is an OSError
        log.warning("a read from the database failed: %s", error)
        raise StoreUnavailable(f"the database could not answer: {error.__class__.__name__}") from error
