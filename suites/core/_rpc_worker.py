"""Run one RPC scenario across local processes: `python -m suites.core._rpc_worker SCENARIO DIR N`.

The launcher imports torch once and forks ranks 0..N-1 (all in the launcher's process group, so
harness.isolate kills the whole tree on a timeout). It exits with the first failure among them;
a rank killed by a signal kills the launcher with the same signal, so the harness records a
crash. Rank 0 ("worker0") drives the scenario from `_rpc_scenarios` and saves what it observed
to DIR/result.pt; the other ranks serve RPCs until shutdown.

Every rank listens on 127.0.0.1 only, on a port the OS picks: TensorPipe binds the interface named
by TP_SOCKET_IFNAME ("lo"), and the rendezvous is a file in DIR, so two rows never collide.
`HARNESS_RPC_INJECT_HANG=1` makes the driver start with an RPC to a worker that sleeps forever
(used by tests/test_core_timeout.py to prove that a deadlocked RPC becomes `timeout`).
"""
from __future__ import annotations

import argparse
import importlib
import multiprocessing
import os
import signal
import sys
import time

# Longer than any harness bound, so a deadlock is ended by the harness (status `timeout`), not
# turned into an RPC error by TensorPipe's own per-call timeout.
RPC_TIMEOUT_S = 3600.0


def launch(scenario: str, workdir: str, world_size: int) -> int:
    """Import torch once, then fork the ranks (before any RPC or intra-op thread exists)."""
    os.environ.update(TP_SOCKET_IFNAME="lo", GLOO_SOCKET_IFNAME="lo")
    import torch  # noqa: F401 - the slow import, done once for every rank
    from suites.core import _rpc_scenarios

    for module in _rpc_scenarios.PRELOAD.get(scenario, ()):
        importlib.import_module(module)

    rendezvous = os.path.join(workdir, "rendezvous")
    if os.path.exists(rendezvous):  # a stale file store would hand out dead addresses
        os.remove(rendezvous)
    context = multiprocessing.get_context("fork")
    ranks = [context.Process(target=serve, args=(scenario, workdir, world_size, rank))
             for rank in range(world_size)]
    for process in ranks:
        process.start()
    try:
        while True:
            codes = [p.exitcode for p in ranks]
            failed = next((c for c in codes if c not in (None, 0)), None)
            if failed is not None:
                return failed
            if all(c == 0 for c in codes):
                return 0
            time.sleep(0.05)
    finally:
        for process in ranks:
            if process.exitcode is None:
                process.kill()


def serve(scenario: str, workdir: str, world_size: int, rank: int) -> None:
    import torch
    import torch.distributed.rpc as rpc

    from suites.core import _rpc_scenarios

    torch.set_num_threads(1)
    options = rpc.TensorPipeRpcBackendOptions(
        init_method=f"file://{os.path.join(workdir, 'rendezvous')}",
        rpc_timeout=RPC_TIMEOUT_S,
        # uv over TCP and the basic channel: the shared-memory transports fail in containers.
        _transports=["uv"], _channels=["basic"],
    )
    rpc.init_rpc(f"worker{rank}", rank=rank, world_size=world_size, rpc_backend_options=options)
    if rank == 0:
        if os.environ.get("HARNESS_RPC_INJECT_HANG") == "1":
            rpc.rpc_sync("worker1", time.sleep, args=(10**9,))
        inputs = torch.load(os.path.join(workdir, "inputs.pt"), weights_only=True)
        result = getattr(_rpc_scenarios, scenario)(inputs)
        torch.save(result, os.path.join(workdir, "result.pt"))
    rpc.shutdown()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", help="a driver function in suites/core/_rpc_scenarios.py")
    parser.add_argument("workdir", help="holds inputs.pt, the rendezvous file and result.pt")
    parser.add_argument("world_size", type=int)
    args = parser.parse_args(argv)
    code = launch(args.scenario, args.workdir, args.world_size)
    if code < 0:  # a rank died from a signal: die the same way so the harness records a crash
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
