"""What the RPC checks run: remote functions, remote modules, and one driver per scenario.

Imported by the RPC workers (rank 0 calls a driver with the inputs the test saved) and, inside
test bodies, by the tests themselves to compute the same thing in one process as the reference.
The model is the RPC tutorial's RNN split in two: the embedding table lives on worker1, the
LSTM and the decoder on worker2; worker0 drives the forward, the loss and the backward.
"""
from __future__ import annotations

import gc
import time
from dataclasses import dataclass

import torch
import torch.distributed.autograd as dist_autograd
import torch.distributed.rpc as rpc
from torch import nn
from torch.distributed.rpc import RRef


# ---- plain functions and Python objects sent over RPC ---------------------------------------

@dataclass
class Affine:
    """A Python object argument: pickled by RPC, rebuilt on the callee."""

    scale: float
    shift: list[float]


def affine(x: torch.Tensor, transform: Affine) -> torch.Tensor:
    return x * transform.scale + torch.tensor(transform.shift)


def summary(values: dict) -> dict:
    """A Python object in, a Python object out."""
    return {"keys": sorted(values), "total": sum(values.values()), "count": len(values)}


def relay(to: str, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """A remote function that itself calls a third worker."""
    return rpc.rpc_sync(to, torch.add, args=(a, b)) * 2


class Accumulator:
    """State held by its owner and changed through RRefs."""

    def __init__(self, initial: torch.Tensor):
        self.total = initial.clone()

    def add(self, x: torch.Tensor) -> torch.Tensor:
        self.total = self.total + x
        return self.total

    def value(self) -> torch.Tensor:
        return self.total


def call_method(method, rref: RRef, *args):
    """The tutorial's `_call_method`: run `method` on the object the RRef owns, on its owner."""
    return method(rref.local_value(), *args)


def add_through(rref: RRef, x: torch.Tensor) -> tuple[bool, torch.Tensor]:
    """Runs on a worker that received an RRef it does not own."""
    return rref.is_owner(), rref.rpc_sync().add(x)


def rref_counts() -> dict[str, int]:
    """This worker's RRef bookkeeping (owner RRefs, pending users, forks)."""
    gc.collect()
    info = rpc._rref_context_get_debug_info()
    return {key: int(info[key]) for key in ("num_owner_rrefs", "num_pending_users", "num_forks")}


def wait_until_released(deadline_s: float = 30.0) -> dict[str, int]:
    """Poll until the owner saw every user's delete message (asynchronous), or the deadline."""
    end = time.monotonic() + deadline_s
    counts = rref_counts()
    while counts["num_owner_rrefs"] and time.monotonic() < end:
        time.sleep(0.05)
        counts = rref_counts()
    return counts


# ---- the tutorial's RNN, split across two workers ---------------------------------------------

NTOKEN, NINP, NHID, NLAYERS = 50, 16, 32, 2


class EmbeddingTable(nn.Module):
    def __init__(self, state: dict | None = None):
        super().__init__()
        self.encoder = nn.Embedding(NTOKEN, NINP)
        if state is not None:
            self.load_state_dict(state)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.encoder(tokens)


class LSTMDecoder(nn.Module):
    def __init__(self, state: dict | None = None):
        super().__init__()
        self.lstm = nn.LSTM(NINP, NHID, NLAYERS)
        self.decoder = nn.Linear(NHID, NTOKEN)
        if state is not None:
            self.load_state_dict(state)

    def forward(self, emb: torch.Tensor, hidden):
        output, hidden = self.lstm(emb, hidden)
        return self.decoder(output), hidden


def parameter_rrefs(rref: RRef) -> list[RRef]:
    return [RRef(p) for p in rref.local_value().parameters()]


def gradients_on_owner(context_id: int, rref: RRef) -> dict[str, torch.Tensor]:
    """The owner's gradients in this distributed autograd context, by parameter name."""
    grads = dist_autograd.get_gradients(context_id)
    return {name: grads[p] for name, p in rref.local_value().named_parameters()}


def state_on_owner(rref: RRef) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in rref.local_value().state_dict().items()}


def initial_hidden(batch: int):
    zeros = torch.zeros(NLAYERS, batch, NHID)
    return zeros, zeros.clone()


def loss_of(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(logits.reshape(-1, NTOKEN), target.reshape(-1))


def local_step_loss(embedding: EmbeddingTable, rnn: LSTMDecoder, tokens, target):
    """The same forward in one process: the reference."""
    logits, _ = rnn(embedding(tokens), initial_hidden(tokens.shape[1]))
    return loss_of(logits, target)


def _remote_model(inputs: dict) -> tuple[RRef, RRef]:
    embedding = rpc.remote("worker1", EmbeddingTable, args=(inputs["embedding"],))
    rnn = rpc.remote("worker2", LSTMDecoder, args=(inputs["rnn"],))
    return embedding, rnn


def _remote_loss(embedding: RRef, rnn: RRef, tokens, target) -> torch.Tensor:
    emb = embedding.rpc_sync().forward(tokens)
    logits, _ = rnn.rpc_sync().forward(emb, initial_hidden(tokens.shape[1]))
    return loss_of(logits, target)


# ---- drivers: run on worker0, return plain data for the test to compare -----------------------

# Slow imports (torch.distributed.optim pulls in FSDP, ~5 s) that the launcher does once before
# it forks the ranks, instead of in every rank.
PRELOAD = {"distributed_optimizer": ("torch.distributed.optim",)}


def sync_async(inputs: dict) -> dict:
    a, b = inputs["a"], inputs["b"]
    transform = Affine(inputs["scale"], inputs["shift"])
    out = {
        "sync_builtin": rpc.rpc_sync("worker1", torch.add, args=(a, b)),
        "sync_user": rpc.rpc_sync("worker2", affine, args=(a, transform)),
        "sync_object": rpc.rpc_sync("worker1", summary, args=(inputs["counts"],)),
        "nested": rpc.rpc_sync("worker1", relay, args=("worker2", a, b)),
    }
    futures = [rpc.rpc_async(f"worker{r}", torch.matmul, args=(a, b.t())) for r in (1, 2)]
    out["async_wait_all"] = torch.futures.wait_all(futures)
    out["async_object"] = rpc.rpc_async("worker2", summary, args=(inputs["counts"],)).wait()
    chained = rpc.rpc_async("worker2", affine, args=(b, transform)).then(lambda f: f.wait() - 1)
    out["async_then"] = chained.wait()
    out["remote_to_here"] = rpc.remote("worker2", affine, args=(b, transform)).to_here()
    return out


def rref_lifecycle(inputs: dict) -> dict:
    a, b, c, d = (inputs[k] for k in "abcd")
    acc = rpc.remote("worker1", Accumulator, args=(a,))
    out = {
        "owner": acc.owner().name,
        "is_owner_on_user": acc.is_owner(),
        "call_method": rpc.rpc_sync(acc.owner(), call_method, args=(Accumulator.add, acc, b)),
        "held_on_owner": rpc.rpc_sync("worker1", rref_counts),
        "rref_rpc_sync": acc.rpc_sync().add(c),
        "rref_rpc_async": acc.rpc_async().add(d).wait(),
        "passed_to_worker2": rpc.rpc_sync("worker2", add_through, args=(acc, a)),
        "rref_remote": acc.remote().value().to_here(),
        "to_here_tensor": rpc.remote("worker2", torch.add, args=(a, b)).to_here(),
    }
    del acc
    gc.collect()
    out["released"] = {
        "worker0": rref_counts(),
        "worker1": rpc.rpc_sync("worker1", wait_until_released),
        "worker2": rpc.rpc_sync("worker2", rref_counts),
    }
    return out


def distributed_gradients(inputs: dict) -> dict:
    embedding, rnn = _remote_model(inputs)
    with dist_autograd.context() as context_id:
        loss = _remote_loss(embedding, rnn, inputs["tokens"], inputs["target"])
        dist_autograd.backward(context_id, [loss])
        return {
            "loss": loss.detach(),
            "embedding": rpc.rpc_sync("worker1", gradients_on_owner, args=(context_id, embedding)),
            "rnn": rpc.rpc_sync("worker2", gradients_on_owner, args=(context_id, rnn)),
        }


def distributed_optimizer(inputs: dict) -> dict:
    from torch.distributed.optim import DistributedOptimizer  # preloaded, see PRELOAD

    embedding, rnn = _remote_model(inputs)
    params = (rpc.rpc_sync("worker1", parameter_rrefs, args=(embedding,))
              + rpc.rpc_sync("worker2", parameter_rrefs, args=(rnn,)))
    optimizer = DistributedOptimizer(torch.optim.SGD, params, **inputs["optimizer"])
    for tokens, target in inputs["batches"]:
        with dist_autograd.context() as context_id:
            loss = _remote_loss(embedding, rnn, tokens, target)
            dist_autograd.backward(context_id, [loss])
            optimizer.step(context_id)
    return {
        "embedding": rpc.rpc_sync("worker1", state_on_owner, args=(embedding,)),
        "rnn": rpc.rpc_sync("worker2", state_on_owner, args=(rnn,)),
    }
