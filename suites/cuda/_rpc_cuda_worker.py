"""Two RPC workers on one GPU: worker1 returns a CUDA tensor that must arrive on cuda:0."""
import os
import socket
import sys

import torch
import torch.distributed.rpc as rpc
import torch.multiprocessing as mp


def double(t):
    assert t.is_cuda, "the device map should deliver the argument on CUDA"
    return t * 2


def worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    options = rpc.TensorPipeRpcBackendOptions(init_method=f"tcp://127.0.0.1:{port}", _transports=["uv"])
    if rank == 0:
        options.set_device_map("worker1", {0: 0})
    rpc.init_rpc(f"worker{rank}", rank=rank, world_size=2, rpc_backend_options=options)
    if rank == 0:
        x = torch.arange(16, dtype=torch.float32, device="cuda:0")
        y = rpc.rpc_sync("worker1", double, args=(x,))
        torch.save({"device": str(y.device), "value": y.cpu(), "expected": (x * 2).cpu()},
                   os.path.join(out, "result.pt"))
    rpc.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    mp.spawn(worker, args=(free_port(), sys.argv[1]), nprocs=2, join=True)
