"""alpaca-py's and requests' exceptions translated into the port's error tree, at the boundary.

Every REST call the adapter makes runs inside `translated(kind)`, and nothing foreign leaves
it. What an error means depends on the call: a 404 is a refused cancel, but a plain "no such
order" on a lookup; a timeout leaves a submission's outcome unknown, and only a request that
certainly never reached Alpaca (the connection refused) may reject an order outright.

    foreign                                    SUBMIT                    CANCEL                 READ
    connection refused, DNS, connect timeout   BrokerUnavailable         BrokerUnavailable      BrokerUnavailable
    read timeout, dropped, TimeoutError, other SubmissionOutcomeUnknown  SubmissionOutcomeUnknown BrokerUnavailable
    429                                        RateLimited (a BrokerUnavailable: refused unprocessed, with the reset time)
    5xx, 408, a status we cannot read          SubmissionOutcomeUnknown  SubmissionOutcomeUnknown BrokerUnavailable
    422 "client_order_id must be unique"       SubmissionOutcomeUnknown  -                      -
    404                                        BrokerRejected            CancelRefused          NotFoundAtAlpaca
    422                                        BrokerRejected            CancelRefused          BrokerUnavailable
    other 4xx (401, 403, ...)                  BrokerRejected            CancelRefused          BrokerUnavailable

A read changes nothing at Alpaca, so whether it arrived does not matter: any failure of one is
BrokerUnavailable (retry later), except 404, which is an answer (find_by_client_id: None). A
cancel that may have arrived is reported as an unknown outcome too (the port has no
cancel-specific one): the confirmation, if any, comes on the stream.

APIError's `code` and `message` parse the body again on every access and raise on a body that
is not JSON or has no code (ALPACA_API.md §6.1): only `status_code` and the raw text are read
here, and the body is parsed once, safely.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from alpaca.common.exceptions import APIError

from execution_server.brokers.alpaca.rate_limit import ServerBudget
from execution_server.brokers.base import (
    BrokerError,
    BrokerRejected,
    BrokerUnavailable,
    CancelRefused,
    SubmissionOutcomeUnknown,
)


class CallKind(enum.Enum):
    SUBMIT = "submit"
    CANCEL = "cancel"
    READ = "read"


class RateLimited(BrokerUnavailable):
    """Alpaca answered 429: the request was refused unprocessed (so a submission may be sent
    again, after `server.reset_at`, and a rejection for it is definite)."""

    def __init__(self, message: str, server: ServerBudget) -> None:
        super().__init__(message)
        self.server = server


class NotFoundAtAlpaca(BrokerError):
    """A read answered 404: Alpaca has no such order or position. An answer, not a failure."""


# A duplicate client order id on a submission we sent once may be our own first send (alpaca-py
# re-sends a POST after a 504, §6.1): only a lookup by client order id tells.
DUPLICATE_CLIENT_ORDER_ID = "client_order_id must be unique"
_BODY_SHOWN = 300  # characters of a body that is not Alpaca's JSON, for the log line


@dataclass(frozen=True, slots=True)
class AlpacaAnswer:
    """What an APIError says, read without its properties that raise."""

    status: int | None
    code: int | str | None
    message: str
    server: ServerBudget

    def __str__(self) -> str:
        code = f" {self.code}" if self.code is not None else ""
        return f"Alpaca {self.status if self.status is not None else 'error'}{code}: {self.message}"


def answer_of(error: APIError) -> AlpacaAnswer:
    body = str(error)  # alpaca-py's APIError holds the raw response text
    response = error.response
    code: int | str | None = None
    message = ""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        code = parsed.get("code") if isinstance(parsed.get("code"), int | str) else None
        message = str(parsed.get("message") or "")
    if not message:
        message = " ".join(body.split())[:_BODY_SHOWN] or getattr(response, "reason", "") or "no message"
    headers: Mapping[str, str] = getattr(response, "headers", None) or {}
    return AlpacaAnswer(error.status_code, code, message, ServerBudget.from_headers(headers))


@contextmanager
def translated(kind: CallKind) -> Iterator[None]:
    """Run one REST call (sync or awaited inside) and raise only the port's errors."""
    try:
        yield
    except BrokerError:
        raise
    except APIError as error:
        raise _from_answer(kind, answer_of(error)) from error
    except requests.RequestException as error:
        raise _from_transport(kind, error) from error
    except TimeoutError as error:  # our own deadline around the call (asyncio.timeout)
        raise _uncertain(kind, "no answer from Alpaca in time") from error


def _from_answer(kind: CallKind, answer: AlpacaAnswer) -> BrokerError:
    status = answer.status
    if status == 429:
        return RateLimited(f"rate limited by Alpaca ({answer}); not processed", answer.server)
    if status is None or status >= 500 or status == 408 or not 400 <= status < 500:
        return _uncertain(kind, str(answer))
    if kind is CallKind.READ:
        if status == 404:
            return NotFoundAtAlpaca(str(answer))
        return BrokerUnavailable(f"read refused: {answer}")
    if kind is CallKind.CANCEL:
        return CancelRefused(str(answer))
    if DUPLICATE_CLIENT_ORDER_ID in answer.message:
        return SubmissionOutcomeUnknown(f"{answer} (perhaps our own earlier send: look it up)")
    return BrokerRejected(str(answer), broker_status="")


def _from_transport(kind: CallKind, error: requests.RequestException) -> BrokerError:
    if never_sent(error):
        return BrokerUnavailable(f"Alpaca not reached, nothing sent: {_describe(error)}")
    return _uncertain(kind, _describe(error))


def _uncertain(kind: CallKind, what: str) -> BrokerError:
    if kind is CallKind.READ:
        return BrokerUnavailable(f"read failed: {what}")
    return SubmissionOutcomeUnknown(f"{kind.value} may have reached Alpaca: {what}")


# The request was not sent: no connection was made (refused, DNS, connect timeout) or the URL
# was never usable. A TLS failure is not among them: it may come after the request left.
_NOT_SENT = (requests.exceptions.ConnectTimeout, requests.exceptions.InvalidURL,
             requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)


def never_sent(error: BaseException) -> bool:
    """Whether a requests error certainly means that no byte of the request reached Alpaca.
    requests wraps urllib3's NewConnectionError (refused, unresolvable) in a ConnectionError
    through a MaxRetryError; a dropped connection is a ConnectionError too, wrapping a
    ProtocolError instead, and may come after the request arrived."""
    import urllib3.exceptions

    if isinstance(error, _NOT_SENT):
        return True
    seen: set[int] = set()
    pending: list[Any] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError):
            return True
        if isinstance(current, BaseException):
            pending.extend([current.__cause__, current.__context__, getattr(current, "reason", None),
                            *[arg for arg in current.args if isinstance(arg, BaseException)]])
    return False


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())[:_BODY_SHOWN]}"
