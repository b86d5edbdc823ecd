"""generated/ is exactly what the pinned grpcio-tools makes of protos/ (the check CI runs too)."""

from __future__ import annotations

import filecmp
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_in_sync_with_the_protos(tmp_path: Path) -> None:
    protos = sorted(str(path.relative_to(ROOT / "protos")) for path in (ROOT / "protos").rglob("*.proto"))
    include = str(Path(protoc.__file__).parent / "_proto")
    result = protoc.main(
        ["protoc", f"-I{ROOT / 'protos'}", f"-I{include}", f"--python_out={tmp_path}",
         f"--grpc_python_out={tmp_path}", f"--pyi_out={tmp_path}", *protos]
    )
    assert result == 0
    fresh = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*.py*"))
    committed = sorted(
        path.relative_to(ROOT / "generated")
        for path in (ROOT / "generated").rglob("*.py*")
        if path.name != "__init__.py" and "__pycache__" not in path.parts
    )
    assert fresh == committed
    different = [str(name) for name in fresh if not filecmp.cmp(tmp_path / name, ROOT / "generated" / name, shallow=False)]
    assert different == [], f"regenerate with `make generate`: {different}"


def test_generated_messages_use_no_float_for_money() -> None:
    from google.protobuf.descriptor import FieldDescriptor

    from execution.v1 import execution_pb2, risk_pb2, simulator_pb2

    floats = [
        f"{message.full_name}.{field.name}"
        for module in (execution_pb2, risk_pb2, simulator_pb2)
        for message in module.DESCRIPTOR.message_types_by_name.values()
        for field in message.fields
        if field.type in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE)
    ]
    assert floats == []
