"""Time RPC round trips between two local processes: `python -m suites.bench._rpc_roundtrip DIR
ROUNDS WARMUP`. Writes DIR/rounds.json: {"rounds": [seconds...], "correct": bool, "memory":
{PeakMemory.as_extra_info() of rank 0 (the caller) over its warm-up and timed calls}}.

The launcher imports torch once and forks rank 0 (the caller) and rank 1 (the callee), both in
its process group, so harness.isolate kills the whole tree on a timeout. Rank 0 times each
`rpc_sync(torch.add)` of a small tensor with time.perf_counter: latency is wall-clock time by
nature (two processes and a socket). TensorPipe uses the uv transport and the basic channel on
127.0.0.1 (the shared-memory ones fail in containers); the rendezvous is a file in DIR.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time

from suites.bench import _memory


def serve(workdir: str, rank: int, rounds: int, warmup: int) -> None:
    import torch
    import torch.distributed.rpc as rpc

    torch.set_num_threads(1)
    options = rpc.TensorPipeRpcBackendOptions(
        init_method=f"file://{os.path.join(workdir, 'rendezvous')}", rpc_timeout=60,
        _transports=["uv"], _channels=["basic"])
    rpc.init_rpc(f"worker{rank}", rank=rank, world_size=2, rpc_backend_options=options)
    if rank == 0:
        x = torch.arange(16, dtype=torch.float32)
        times, correct = [], True
        with _memory.track() as memory:
            for i in range(warmup + rounds):
                start = time.perf_counter()
                y = rpc.rpc_sync("worker1", torch.add, args=(x, 1))
                elapsed = time.perf_counter() - start
                correct = correct and torch.equal(y, x + 1)
                if i >= warmup:
                    times.append(elapsed)
        with open(os.path.join(workdir, "rounds.json"), "w") as fh:
            json.dump({"rounds": times, "correct": bool(correct),
                       "memory": memory.result.as_extra_info()}, fh)
    rpc.shutdown()


def main(argv: list[str]) -> int:
    workdir, rounds, warmup = argv[0], int(argv[1]), int(argv[2])
    os.environ.update(TP_SOCKET_IFNAME="lo", GLOO_SOCKET_IFNAME="lo")
    import torch  # noqa: F401 - imported once, before forking, for both ranks

    context = multiprocessing.get_context("fork")
    ranks = [context.Process(target=serve, args=(workdir, rank, rounds, warmup)) for rank in (0, 1)]
    for process in ranks:
        process.start()
    for process in ranks:
        process.join()
    return next((p.exitcode for p in ranks if p.exitcode), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
