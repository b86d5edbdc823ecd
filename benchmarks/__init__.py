"""Benchmarks: `make bench` (benchmarks/bench, the service against a bare grpc.aio server) and
the component benchmarks beside it (one script each, see the README's Performance section)."""
