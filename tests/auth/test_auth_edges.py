"""The pure parts around the interceptor: the method table, the token and certificate
readers, the caps' bookkeeping, and when open access may start."""

from __future__ import annotations

import pytest

from execution_server.api.authentication import (
    OPERATOR_METHODS,
    SERVICES,
    STRATEGY_METHODS,
    access_table,
    bearer_token,
    certificate_identities,
)
from execution_server.auth.caps import CallCaps, CallKind
from execution_server.auth.open_access import check_open_access, is_loopback
from execution_server.auth.principal import Role
from execution_server.auth.tokens import hash_token, parse_auth
from execution_server.config import ConfigError

ALL_METHODS = {f"/{service.full_name}/{method.name}" for service in SERVICES for method in service.methods}


def test_every_rpc_of_every_service_is_classified_on_purpose() -> None:
    """A new RPC fails this until someone decides who may call it (meanwhile: operators only)."""
    assert STRATEGY_METHODS | OPERATOR_METHODS == ALL_METHODS
    assert not STRATEGY_METHODS & OPERATOR_METHODS


def test_an_unclassified_method_needs_an_operator() -> None:
    from google.protobuf import descriptor_pb2, descriptor_pool

    file = descriptor_pb2.FileDescriptorProto(name="new_rpc_test.proto", package="execution.v1")
    file.message_type.add(name="NewRpcTestRequest")
    service = file.service.add(name="ExecutionService")
    service.method.add(name="Brand_New", input_type=".execution.v1.NewRpcTestRequest",
                       output_type=".execution.v1.NewRpcTestRequest")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    new = pool.FindServiceByName("execution.v1.ExecutionService")
    assert access_table([new]) == {"/execution.v1.ExecutionService/Brand_New": Role.OPERATOR}


def test_the_access_table_covers_every_method_with_the_role_it_needs() -> None:
    table = access_table()
    assert set(table) == ALL_METHODS
    assert {path for path, role in table.items() if role is Role.STRATEGY} == STRATEGY_METHODS
    assert table["/execution.v1.ExecutionService/GetAccount"] is Role.OPERATOR
    assert table["/execution.v1.RiskService/SetKillSwitch"] is Role.OPERATOR


@pytest.mark.parametrize(
    ("metadata", "token"),
    [
        ([("authorization", "Bearer abc")], "abc"),
        ([("authorization", "bearer  abc ")], "abc"),
        ([("x-other", "1"), ("authorization", "Bearer abc")], "abc"),
        ([], None),
        ([("authorization", "abc")], None),
        ([("authorization", "Basic abc")], None),
        ([("authorization", "Bearer ")], None),
        ([("authorization", "Bearer a"), ("authorization", "Bearer b")], None),
    ],
)
def test_the_bearer_token_is_read_from_one_authorization_entry(metadata, token) -> None:
    assert bearer_token(metadata) == token


def test_a_client_certificate_stands_in_for_the_token_configured_for_its_cn_or_a_san() -> None:
    config = parse_auth({"tokens": [
        {"name": "ops", "sha256": hash_token("o"), "role": "operator", "client_cert": "ops.desk.example"},
        {"name": "momentum", "sha256": hash_token("m"), "role": "strategy", "strategies": ["momentum_v1"],
         "client_cert": "spiffe://desk/momentum"},
    ]})
    assert config is not None
    by_cn = {"x509_common_name": [b"ops.desk.example"], "transport_security_type": [b"ssl"]}
    by_san = {"x509_common_name": [b"someone"], "x509_subject_alternative_name": [b"other", b"spiffe://desk/momentum"]}
    unknown = {"x509_common_name": [b"intruder"], "x509_subject_alternative_name": [b"intruder.example"]}
    assert config.by_certificate(certificate_identities(by_cn)).name == "ops"
    assert config.by_certificate(certificate_identities(by_san)).name == "momentum"
    assert config.by_certificate(certificate_identities(unknown)) is None
    assert config.by_certificate(certificate_identities({})) is None  # plaintext: no peer identity


def test_caps_count_per_token_and_kind_and_free_a_place_when_a_call_ends() -> None:
    caps = CallCaps()
    assert caps.try_enter("a", CallKind.STREAM, 2) and caps.try_enter("a", CallKind.STREAM, 2)
    assert not caps.try_enter("a", CallKind.STREAM, 2)
    assert caps.try_enter("a", CallKind.UNARY, 2) and caps.try_enter("b", CallKind.STREAM, 2)
    caps.leave("a", CallKind.STREAM)
    assert caps.in_flight("a", CallKind.STREAM) == 1
    assert caps.try_enter("a", CallKind.STREAM, 2)


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1:50051", True), ("127.1.2.3:1", True), ("localhost:50051", True), ("[::1]:50051", True),
        ("0.0.0.0:50051", False), ("[::]:50051", False), ("10.0.0.5:50051", False), ("example.com:50051", False),
    ],
)
def test_loopback_addresses(address, loopback) -> None:
    assert is_loopback(address) is loopback


def test_open_access_is_refused_live_or_off_loopback_naming_the_setting() -> None:
    check_open_access("127.0.0.1:0", "PAPER")
    with pytest.raises(ConfigError) as live:
        check_open_access("127.0.0.1:0", "LIVE")
    assert live.value.setting == "auth"
    with pytest.raises(ConfigError) as wildcard:
        check_open_access("0.0.0.0:50051", "PAPER")
    assert wildcard.value.setting == "EXECUTION_GRPC_ADDRESS"


class _PeerContext:
    """What identify() reads of a ServicerContext: a TLS peer cannot be made without the
    transport's certificates here (the end-to-end mTLS test drives the real one)."""

    def __init__(self, metadata=(), cn: bytes | None = None) -> None:  # type: ignore[no-untyped-def]
        self._metadata = tuple(metadata)
        self._context = {"transport_security_type": [b"ssl"], "x509_common_name": [cn]} if cn else {}

    def invocation_metadata(self):  # type: ignore[no-untyped-def]
        return self._metadata

    def peer_identities(self):  # type: ignore[no-untyped-def]
        return self._context.get("x509_common_name")

    def auth_context(self):  # type: ignore[no-untyped-def]
        return self._context


def test_identify_takes_the_bearer_token_first_then_a_verified_certificate() -> None:
    from execution_server.api.authentication import identify

    config = parse_auth({"tokens": [
        {"name": "ops", "sha256": hash_token("o"), "role": "operator", "client_cert": "ops.desk"},
        {"name": "momentum", "sha256": hash_token("m"), "role": "strategy", "strategies": ["momentum_v1"]},
    ]})
    assert config is not None
    assert identify(config, _PeerContext(cn=b"ops.desk")).name == "ops"
    assert identify(config, _PeerContext([("authorization", "Bearer m")], cn=b"ops.desk")).name == "momentum"
    assert identify(config, _PeerContext([("authorization", "Bearer nope")], cn=b"ops.desk")) is None
    assert identify(config, _PeerContext([("authorization", "ops.desk")], cn=b"ops.desk")) is None
    assert identify(config, _PeerContext(cn=b"stranger")) is None
    assert identify(config, _PeerContext()) is None
