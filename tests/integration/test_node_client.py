"""examples/node/client.js, run by node against a real server on the simulated broker: with open
access, with a strategy's bearer token, refused with a token nobody holds, and with no server.

Node and examples/node/node_modules are prerequisites (`make test` runs `npm ci` there): their
absence fails these tests, it never skips them."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from execution.v1 import execution_pb2 as pb
from execution_server.config import Settings
from tests.auth.kit import MOMENTUM_TOKEN, OPERATOR_TOKEN, UNKNOWN_TOKEN, auth_settings, bearer
from tests.harness import Client, running, settings_for

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "node"
# A bound on a hung client, so that the suite ends; not a measure of speed.
RUN_BOUND_SECONDS = 60


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


async def run_client(port: int, token: str | None = None) -> Run:
    node = shutil.which("node")
    assert node is not None, "node is not on PATH: examples/node needs Node.js"
    assert (EXAMPLE / "node_modules" / "@grpc" / "grpc-js").is_dir(), (
        "examples/node/node_modules is missing: run `make test`, or `npm ci --prefix examples/node`"
    )
    # Only what the client reads: nothing of the suite's own EXECUTION_* settings leaks in.
    environment = {"PATH": os.environ["PATH"], "EXECUTION_ADDRESS": f"127.0.0.1:{port}"}
    if token is not None:
        environment["EXECUTION_TOKEN"] = token
    process = await asyncio.create_subprocess_exec(
        node, str(EXAMPLE / "client.js"), env=environment, cwd=EXAMPLE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), RUN_BOUND_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode())


async def assert_traded(client: Client, run: Run, token: str | None = None) -> None:
    """The client placed a market order that filled, printed its updates and the position the
    server holds, and printed the BadRequest violation for quantity; the server agrees (asked
    with `token`, the operator's when the server has [auth])."""
    assert run.returncode == 0, f"client failed:\n{run.stdout}\n{run.stderr}"
    metadata = bearer(token)
    placed = re.search(r"^placed order (\S+): BUY 10 AAPL MARKET", run.stdout, re.MULTILINE)
    assert placed is not None, run.stdout
    reply = await client.execution.GetOrder(pb.GetOrderRequest(order_id=placed.group(1)), metadata=metadata)
    order = reply.order
    assert order.strategy_id == "momentum_v1"
    assert order.status == pb.ORDER_STATUS_FILLED
    assert re.search(r"^update \d+: fill -> ORDER_STATUS_FILLED fill 10 @ ", run.stdout, re.MULTILINE), run.stdout
    assert f"filled order {order.order_id}: 10 @ {order.average_fill_price}\n" in run.stdout
    request = pb.GetPositionsRequest(strategy_id="momentum_v1")
    positions = await client.execution.GetPositions(request, metadata=metadata)
    [aapl] = [position for position in positions.positions if position.symbol == "AAPL"]
    assert f"position AAPL: {aapl.quantity} @ {aapl.average_entry_price}, realized pnl {aapl.realized_pnl}\n" in run.stdout
    assert re.search(r"^INVALID_ARGUMENT: quantity: .*'ten'$", run.stdout, re.MULTILINE), run.stdout
    assert run.stdout.endswith("done\n")
    # The refused order wrote nothing: the filled one is the strategy's only order.
    listed = await client.execution.ListOrders(pb.ListOrdersRequest(strategy_id="momentum_v1"), metadata=metadata)
    assert [o.order_id for o in listed.orders] == [order.order_id]


async def test_the_node_client_trades_with_open_access(settings: Settings) -> None:
    async with running(settings) as client:
        run = await run_client(client.app.port)
        assert "with a bearer token" not in run.stdout
        await assert_traded(client, run)


async def test_the_node_client_trades_with_a_strategy_token(database_url: str, tmp_path: Path) -> None:
    async with running(auth_settings(database_url, tmp_path)) as client:
        run = await run_client(client.app.port, MOMENTUM_TOKEN)
        assert "with a bearer token" in run.stdout
        assert MOMENTUM_TOKEN not in run.stdout + run.stderr
        await assert_traded(client, run, OPERATOR_TOKEN)


async def test_the_node_client_exits_non_zero_when_its_token_is_refused(database_url: str, tmp_path: Path) -> None:
    async with running(auth_settings(database_url, tmp_path)) as client:
        run = await run_client(client.app.port, UNKNOWN_TOKEN)
        assert run.returncode == 1
        assert "placed order" not in run.stdout
        assert run.stderr.startswith("failed (UNAUTHENTICATED): ")
        assert UNKNOWN_TOKEN not in run.stdout + run.stderr


async def test_the_node_client_exits_non_zero_when_nothing_listens(database_url: str, tmp_path: Path) -> None:
    async with running(settings_for(database_url, tmp_path)) as client:
        port = client.app.port
    run = await run_client(port)  # the server has stopped: its port refuses
    assert run.returncode == 1
    assert run.stderr.startswith("failed (UNAVAILABLE): ")
