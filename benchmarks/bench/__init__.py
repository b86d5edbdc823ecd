"""`make bench`: the execution service measured against a bare grpc.aio server in one run.

    .venv/bin/python -m benchmarks.bench [--quick] [--only NAME[,NAME]] [--database sqlite|postgresql|both]
        [--seconds S] [--out var/bench/results.json]

Every server runs in a process of its own (spawn), and so does the load generator (a spawn
process pool of its own): the run's process only starts them and writes the table.

Modules, one job each:
  machine    the machine a run was made on (cores, load average, versions)
  databases  the throwaway SQLite directory or PostgreSQL database of each server
  servers    the execution server and the bare grpc.aio server, each in its own process
  load       the closed-loop load generator (per-call latency, calls/s, percentiles)
  figures    a figure, its baseline and target; the table and the JSON
  scenarios  one function per scenario, each returning figures
  __main__   the command line
"""
