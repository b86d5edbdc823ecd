"""Foreign errors become the port's: real APIErrors (raised by alpaca-py against a loopback HTTP
server, or built as alpaca-py builds them) and real requests errors from real sockets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient

from execution_server.brokers.alpaca.errors import (
    CallKind,
    NotFoundAtAlpaca,
    RateLimited,
    answer_of,
    never_sent,
    translated,
)
from execution_server.brokers.alpaca.mapping import order_request_for
from execution_server.brokers.base import (
    BrokerRejected,
    BrokerUnavailable,
    CancelRefused,
    SubmissionOutcomeUnknown,
)
from tests.builders import an_order
from tests.secret_scan import ALPACA_KEY, ALPACA_SECRET

SUBMIT, CANCEL, READ = CallKind.SUBMIT, CallKind.CANCEL, CallKind.READ
INSUFFICIENT = '{"code": 40310000, "message": "insufficient qty available for order (requested: 1000, available: 0)"}'


def api_error(status: int, body: str, headers: dict[str, str] | None = None) -> APIError:
    """An APIError exactly as alpaca-py's RESTClient._one_request raises it."""
    response = requests.Response()
    response.status_code = status
    response._content = body.encode()
    response.encoding = "utf-8"
    response.headers.update(headers or {})
    response.url = "http://127.0.0.1:9/v2/orders"
    try:
        response.raise_for_status()
    except requests.HTTPError as http_error:
        return APIError(response.text, http_error)
    raise AssertionError(f"{status} is not an error status")


def raised_by(kind: CallKind, error: BaseException) -> BaseException:
    with pytest.raises(Exception) as caught, translated(kind):
        raise error
    return caught.value


# --- Alpaca's answers ---


def test_a_refusal_carries_alpacas_code_and_message() -> None:
    refused = raised_by(SUBMIT, api_error(403, INSUFFICIENT))
    assert type(refused) is BrokerRejected
    assert refused.reason == (
        "Alpaca 403 40310000: insufficient qty available for order (requested: 1000, available: 0)"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [('{"message": "unauthorized"}', "Alpaca 401: unauthorized"),  # no code: APIError.code raises
     ("<html>Unauthorized</html>", "Alpaca 401: <html>Unauthorized</html>"),  # not JSON: .message raises
     ("", "Alpaca 401: Unauthorized"),
     ('["odd"]', 'Alpaca 401: ["odd"]')],
)
def test_a_body_alpaca_py_cannot_read_is_read_safely(body: str, message: str) -> None:
    error = api_error(401, body)
    if body:
        with pytest.raises((KeyError, ValueError, TypeError)):
            error.code  # noqa: B018 - the trap this module avoids
    response = error.response
    response.reason = "Unauthorized"
    refused = raised_by(SUBMIT, error)
    assert type(refused) is BrokerRejected and refused.reason == message


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_a_server_error_on_submit_leaves_the_outcome_unknown(status: int) -> None:
    assert type(raised_by(SUBMIT, api_error(status, "upstream failed"))) is SubmissionOutcomeUnknown


def test_a_duplicate_client_order_id_is_settled_by_lookup_not_rejected() -> None:
    error = api_error(422, '{"code": 40010001, "message": "client_order_id must be unique"}')
    unknown = raised_by(SUBMIT, error)
    assert type(unknown) is SubmissionOutcomeUnknown and "look it up" in str(unknown)


@pytest.mark.parametrize(
    "body",
    ['{"code": 40010001, "message": "qty must be integer"}',
     '{"code": 42210000, "message": "invalid limit_price 290.123. sub-penny increment does not fulfill minimum pricing criteria"}'],
)
def test_a_validation_error_on_submit_is_a_rejection(body: str) -> None:
    assert type(raised_by(SUBMIT, api_error(422, body))) is BrokerRejected


@pytest.mark.parametrize(
    ("status", "body"),
    [(422, '{"code": 42210000, "message": "order is not cancelable"}'),
     (404, '{"code": 40410000, "message": "order not found"}')],
)
def test_a_cancel_alpaca_will_not_do_is_refused(status: int, body: str) -> None:
    refused = raised_by(CANCEL, api_error(status, body))
    assert type(refused) is CancelRefused and str(status) in refused.reason


def test_a_server_error_on_cancel_leaves_its_outcome_unknown() -> None:
    assert type(raised_by(CANCEL, api_error(500, "Failed to cancel order."))) is SubmissionOutcomeUnknown


def test_a_read_answered_404_is_not_found_and_other_read_failures_are_unavailable() -> None:
    assert type(raised_by(READ, api_error(404, '{"code": 40410000, "message": "order not found"}'))) is NotFoundAtAlpaca
    for status in (500, 504, 401, 422):
        assert type(raised_by(READ, api_error(status, "{}"))) is BrokerUnavailable


@pytest.mark.parametrize("kind", list(CallKind))
def test_a_429_is_refused_unprocessed_with_alpacas_reset_time(kind: CallKind) -> None:
    error = api_error(429, "rate limit exceeded",
                      {"X-Ratelimit-Limit": "200", "X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "1772461867"})
    limited = raised_by(kind, error)
    assert type(limited) is RateLimited and isinstance(limited, BrokerUnavailable)
    assert (limited.server.limit, limited.server.remaining, limited.server.reset_at) == (200, 0, 1772461867.0)


def test_unreadable_rate_limit_headers_are_ignored() -> None:
    answer = answer_of(api_error(429, "", {"X-Ratelimit-Remaining": "many", "X-Ratelimit-Reset": "nan"}))
    assert (answer.server.remaining, answer.server.reset_at) == (None, None)


def test_our_own_errors_and_cancellation_pass_through() -> None:
    assert type(raised_by(SUBMIT, BrokerRejected("already ours"))) is BrokerRejected
    import asyncio

    with pytest.raises(asyncio.CancelledError), translated(SUBMIT):
        raise asyncio.CancelledError


def test_our_deadline_on_a_submit_leaves_the_outcome_unknown() -> None:
    assert type(raised_by(SUBMIT, TimeoutError())) is SubmissionOutcomeUnknown
    assert type(raised_by(READ, TimeoutError())) is BrokerUnavailable


# --- real sockets: refused, dropped, silent ---


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def misbehaving_server() -> Iterator[tuple[str, dict[str, str]]]:
    """A loopback TCP server that reads the request, then closes ("drop") or says nothing ("silent")."""
    mode = {"mode": "drop"}
    listener = socket.create_server(("127.0.0.1", 0))
    release = threading.Event()

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                if mode["mode"] == "silent":
                    release.wait(5)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", mode
    release.set()
    listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
    listener.close()
    thread.join(5)


@pytest.mark.parametrize("kind", list(CallKind))
def test_a_refused_connection_is_unavailable_nothing_sent(kind: CallKind) -> None:
    with pytest.raises(BrokerUnavailable) as caught, translated(kind):
        requests.post(f"http://127.0.0.1:{_free_port()}/v2/orders", json={}, timeout=5)
    assert type(caught.value) is BrokerUnavailable and "nothing sent" in str(caught.value)
    assert never_sent(caught.value.__cause__)


def test_a_dropped_connection_leaves_a_submission_unknown(misbehaving_server) -> None:
    url, _ = misbehaving_server
    with pytest.raises(SubmissionOutcomeUnknown), translated(SUBMIT):
        requests.post(f"{url}/v2/orders", json={"qty": 1.0}, timeout=5)


def test_a_silent_server_leaves_a_submission_unknown(misbehaving_server) -> None:
    url, mode = misbehaving_server
    mode["mode"] = "silent"
    with pytest.raises(SubmissionOutcomeUnknown) as caught, translated(SUBMIT):
        requests.post(f"{url}/v2/orders", json={"qty": 1.0}, timeout=(5, 0.05))
    assert isinstance(caught.value.__cause__, requests.exceptions.ReadTimeout)


# --- alpaca-py itself, against a loopback server answering as Alpaca does ---


@pytest.fixture
def answering_server() -> Iterator[tuple[str, dict[str, object]]]:
    answer: dict[str, object] = {"status": 200, "body": "{}", "headers": {}}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = str(answer["body"]).encode()
            self.send_response(int(answer["status"]))  # type: ignore[call-overload]
            for name, value in dict(answer["headers"]).items():  # type: ignore[call-overload]
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET = do_DELETE = _answer

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", answer
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_alpaca_pys_own_api_errors_are_translated(answering_server) -> None:
    url, answer = answering_server
    client = TradingClient(ALPACA_KEY, ALPACA_SECRET, paper=True, raw_data=True, url_override=url)
    client._retry = 0  # §6.3: the SDK would re-send a 429/504 three times, 3 s apart
    request = order_request_for(an_order())

    answer.update(status=403, body=INSUFFICIENT)
    with pytest.raises(BrokerRejected, match="Alpaca 403 40310000: insufficient qty"), translated(SUBMIT):
        client.submit_order(request)

    answer.update(status=401, body='{"message": "unauthorized"}')
    with pytest.raises(BrokerRejected, match="Alpaca 401: unauthorized"), translated(SUBMIT):
        client.submit_order(request)

    answer.update(status=504, body="gateway timeout")
    with pytest.raises(SubmissionOutcomeUnknown), translated(SUBMIT):
        client.submit_order(request)

    answer.update(status=429, body="too many", headers={"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "1772461867"})
    with pytest.raises(RateLimited) as limited, translated(SUBMIT):
        client.submit_order(request)
    assert limited.value.server.reset_at == 1772461867.0

    answer.update(status=404, body='{"code": 40410000, "message": "order not found"}', headers={})
    with pytest.raises(NotFoundAtAlpaca), translated(READ):
        client.get_order_by_client_id("c-1")
    with pytest.raises(CancelRefused, match="order not found"), translated(CANCEL):
        client.cancel_order_by_id("61e69015-8549-4bfd-b9c3-01e75843f47d")
