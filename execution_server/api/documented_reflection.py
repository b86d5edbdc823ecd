"""What server reflection serves: our protos with their comments, and every symbol grpcurl asks for.

grpc_reflection answers from a descriptor pool, and the default pool holds what the generated
*_pb2 modules registered: no source info (protoc leaves the comments out of them), and, with
protobuf's upb backend, `FindFileContainingSymbol` knows no method (`grpcurl describe
execution.v1.ExecutionService.PlaceOrder` answered "Symbol not found"). A pool also copies a
file out with `CopyToProto`, which drops source info even when it has it. So reflection gets
this pool instead: the files of `make generate`'s descriptors.binpb (source info kept) as protoc
wrote them, and the default pool for the rest (health, reflection itself).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool

DESCRIPTOR_SET = "descriptors.binpb"  # generated/execution/v1/, written by `make generate`


class DocumentedFile:
    """A file as grpc_reflection reads it (name, dependencies, CopyToProto), copied whole."""

    def __init__(self, proto: descriptor_pb2.FileDescriptorProto, dependencies: list[DocumentedFile]) -> None:
        self.name = proto.name
        self.dependencies = dependencies
        self._proto = proto

    def CopyToProto(self, proto: descriptor_pb2.FileDescriptorProto) -> None:
        proto.CopyFrom(self._proto)


class DocumentedPool:
    """The lookups grpc_reflection makes of its `pool` (its names), our files as DocumentedFiles
    and the fallback's (health, reflection) as they are."""

    def __init__(self, descriptor_set: descriptor_pb2.FileDescriptorSet,
                 fallback: descriptor_pool.DescriptorPool | None = None) -> None:
        self._fallback = fallback or descriptor_pool.Default()
        self._pool = descriptor_pool.DescriptorPool()
        self._files: dict[str, DocumentedFile] = {}
        for proto in descriptor_set.file:  # protoc writes each file after its imports
            self._pool.Add(proto)
            _without_json_names(proto)
            dependencies = [self._files[name] for name in proto.dependency]
            self._files[proto.name] = DocumentedFile(proto, dependencies)

    def FindFileByName(self, name: str) -> Any:
        if name in self._files:
            return self._files[name]
        return self._fallback.FindFileByName(name)

    def FindFileContainingSymbol(self, symbol: str) -> Any:
        for pool in (self._pool, self._fallback):
            try:
                file = _file_containing(pool, symbol)
            except KeyError:
                continue
            return self._files.get(file.name, file)
        raise KeyError(symbol)

    def FindMessageTypeByName(self, name: str) -> Any:
        return self._either("FindMessageTypeByName", name)

    def FindExtensionByNumber(self, message: Any, number: int) -> Any:
        return message.file.pool.FindExtensionByNumber(message, number)

    def FindAllExtensions(self, message: Any) -> Any:
        return message.file.pool.FindAllExtensions(message)

    def _either(self, lookup: str, name: str) -> Any:
        try:
            return getattr(self._pool, lookup)(name)
        except KeyError:
            return getattr(self._fallback, lookup)(name)


def _file_containing(pool: descriptor_pool.DescriptorPool, symbol: str) -> Any:
    try:
        return pool.FindFileContainingSymbol(symbol)
    except KeyError:
        # A method: upb's pool finds its service, not the method itself.
        return pool.FindMethodByName(symbol).containing_service.file


def _without_json_names(file: descriptor_pb2.FileDescriptorProto) -> None:
    """protoc writes each field's lowerCamelCase JSON name, which the pool's copies never carried:
    grpcurl would print `brokerOrderId` where it printed `broker_order_id`, the name requests use."""
    messages = list(file.message_type)
    while messages:
        message = messages.pop()
        for field in message.field:
            field.ClearField("json_name")
        messages.extend(message.nested_type)


@cache
def documented_pool() -> DocumentedPool:
    data = resources.files("execution.v1").joinpath(DESCRIPTOR_SET).read_bytes()
    return DocumentedPool(descriptor_pb2.FileDescriptorSet.FromString(data))
