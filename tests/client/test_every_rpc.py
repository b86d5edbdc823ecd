"""Every RPC of every service has a method in both clients, with the same signature in each: a
new RPC without a client method fails here."""

from __future__ import annotations

import inspect
import re

import pytest

from execution_client import BlockingExecutionClient, ExecutionClient
from execution_client._proto.execution.v1 import execution_pb2, risk_pb2, simulator_pb2

# The batched stream carries the same updates as StreamOrderUpdates, which the clients use.
NOT_A_METHOD = {"StreamOrderUpdateBatches"}
RPCS = [
    method.name
    for module in (execution_pb2, risk_pb2, simulator_pb2)
    for service in module.DESCRIPTOR.services_by_name.values()
    for method in service.methods
    if method.name not in NOT_A_METHOD
]


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize("rpc", RPCS)
def test_both_clients_have_the_rpc_with_one_signature(rpc: str) -> None:
    asynchronous = getattr(ExecutionClient, snake(rpc))
    blocking = getattr(BlockingExecutionClient, snake(rpc))
    assert inspect.signature(asynchronous).parameters.keys() == inspect.signature(blocking).parameters.keys()


def test_there_are_as_many_rpcs_as_the_protos_declare() -> None:
    assert len(RPCS) == 10 - 1 + 4 + 5
