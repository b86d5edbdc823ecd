"""ApiSession, the session alpaca-py is given: its short path sends what requests' own would
(alpaca-py's headers and body, the session's hooks), with the timeout alpaca-py never sets, and
anything it does not handle goes through requests' path with the same timeout."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import MarketOrderRequest

from execution_server.brokers.alpaca.emulator import AlpacaEmulator
from execution_server.brokers.alpaca.http_session import ApiSession
from tests.secret_scan import ALPACA_KEY, ALPACA_SECRET

AUTH = {"APCA-API-KEY-ID": ALPACA_KEY, "APCA-API-SECRET-KEY": ALPACA_SECRET}


def _client(emulator: AlpacaEmulator, session: ApiSession) -> TradingClient:
    client = TradingClient(ALPACA_KEY, ALPACA_SECRET, paper=True, raw_data=True, url_override=emulator.rest_url)
    client._retry = 0
    client._session = session
    return client


def test_alpaca_py_submits_and_looks_up_through_it_with_its_hooks_called_once_per_reply(
        emulator: AlpacaEmulator) -> None:
    session = ApiSession(emulator.rest_url, (1.0, 5.0))
    heard: list[tuple[str, int]] = []
    session.hooks["response"].append(lambda response, *_, **__: heard.append((response.request.method, response.status_code)))
    client = _client(emulator, session)
    emulator.set_price("AAPL", "100")
    client.submit_order(MarketOrderRequest(symbol="AAPL", qty=3, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
                                           client_order_id="lean-1"))
    [body] = emulator.submissions("lean-1")
    assert (body["symbol"], Decimal(str(body["qty"])), body["side"], body["type"]) == ("AAPL", 3, "buy", "market")
    found = client.get_order_by_client_id("lean-1")  # a GET with query params
    assert found["client_order_id"] == "lean-1" and found["filled_qty"] == "3"
    assert heard == [("POST", 200), ("GET", 200)]


def test_a_wrong_key_is_refused_so_the_keys_travel_in_alpaca_pys_headers(emulator: AlpacaEmulator) -> None:
    client = TradingClient(ALPACA_KEY, "not-the-secret", paper=True, raw_data=True, url_override=emulator.rest_url)
    client._retry = 0
    client._session = ApiSession(emulator.rest_url, (1.0, 5.0))
    with pytest.raises(APIError) as refused:
        client.get_account()
    assert refused.value.status_code == 401


@pytest.mark.parametrize("extra", [{}, {"allow_redirects": True}, {"stream": True}],
                         ids=["short path", "requests' path (redirects)", "requests' path (stream)"])
def test_every_path_has_the_sessions_timeout(emulator: AlpacaEmulator, extra: dict[str, Any]) -> None:
    session = ApiSession(emulator.rest_url, (1.0, 0.2))
    options = {"allow_redirects": False, **extra}
    emulator.delay(1.0, count=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.request("GET", f"{emulator.rest_url}/v2/account", headers=AUTH, **options)
    reply = session.request("GET", f"{emulator.rest_url}/v2/account", headers=AUTH, **options)
    assert reply.status_code == 200 and reply.json()["status"] == "ACTIVE"


def test_the_environment_is_read_once_at_construction(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    bundle = tmp_path / "ca.pem"
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    session = ApiSession("https://paper-api.alpaca.markets", (1.0, 2.0))
    monkeypatch.delenv("HTTPS_PROXY")
    assert session.proxies.get("https") == "http://proxy.example:3128"
    assert session.verify == str(bundle) and session.trust_env is False
