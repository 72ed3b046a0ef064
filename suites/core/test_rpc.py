"""Distributed RPC from the 1.4 release: rpc_sync/rpc_async/remote, RRefs, distributed autograd
and DistributedOptimizer, each run across three processes on 127.0.0.1 and compared with the
same computation done in this process.

Each scenario runs in its own process tree (suites/core/_rpc_worker.py) bounded by
HARNESS_RPC_BOUND_S seconds: a deadlock becomes `timeout` and the tree is killed.
"""
import os
from pathlib import Path

import pytest

from harness.isolate import run_python

# Three processes each import torch and rendezvous on a shared 2-core machine (10-30 s here);
# 120 s leaves room for a loaded machine and stays under the suite's 300 s pytest-timeout.
RPC_BOUND_S = float(os.environ.get("HARNESS_RPC_BOUND_S", "120"))
WORLD_SIZE = 3
REPO = Path(__file__).resolve().parents[2]

# The distributed model runs the same float32 kernels as the local one, but the gradient
# w.r.t. the embedding output crosses processes and is accumulated in a different order,
# and the workers run one intra-op thread: allow float32 round-off, nothing more.
GRAD_RTOL, GRAD_ATOL = 1e-5, 1e-7
# k optimizer steps compound that round-off through the parameters.
STEP_RTOL, STEP_ATOL = 1e-5, 1e-6
STEPS = 3


def run_scenario(torch, workdir: Path, scenario: str, inputs: dict) -> dict:
    """Run `scenario` from _rpc_scenarios on worker0 of a fresh 3-process RPC group."""
    torch.save(inputs, workdir / "inputs.pt")
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path)
    done = run_python(["-m", "suites.core._rpc_worker", scenario, str(workdir), str(WORLD_SIZE)],
                      RPC_BOUND_S, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"RPC workers exited with {done.returncode}:\n{done.stderr[-3000:]}")
    return torch.load(workdir / "result.pt", weights_only=True)


@pytest.fixture
def scenarios(torch):
    from suites.core import _rpc_scenarios
    return _rpc_scenarios


def rnn_inputs(torch, s, batches: int) -> tuple[dict, object, object]:
    torch.manual_seed(0)
    embedding, rnn = s.EmbeddingTable(), s.LSTMDecoder()
    data = [(torch.randint(0, s.NTOKEN, (5, 3)), torch.randint(0, s.NTOKEN, (5, 3)))
            for _ in range(batches)]
    inputs = {"embedding": embedding.state_dict(), "rnn": rnn.state_dict(), "batches": data,
              "tokens": data[0][0], "target": data[0][1]}
    return inputs, embedding, rnn


@pytest.mark.feature("core.rpc.rpc_sync_async")
def test_rpc_sync_async_and_remote_equal_local_calls(torch, scenarios, tmp_path):
    """Builtin and user functions, tensor and Python-object arguments, futures and remote."""
    s = scenarios
    torch.manual_seed(0)
    inputs = {"a": torch.randn(4, 3), "b": torch.randn(4, 3), "scale": 1.5,
              "shift": [0.5, -1.0, 2.0], "counts": {"x": 3, "y": 4, "z": -2}}
    got = run_scenario(torch, tmp_path, "sync_async", inputs)

    a, b = inputs["a"], inputs["b"]
    transform = s.Affine(inputs["scale"], inputs["shift"])
    # Tensors cross TensorPipe bit for bit and the callee runs the same elementwise CPU kernel.
    assert torch.equal(got["sync_builtin"], torch.add(a, b))
    assert torch.equal(got["sync_user"], s.affine(a, transform))
    assert got["sync_object"] == got["async_object"] == s.summary(inputs["counts"])
    assert torch.equal(got["nested"], torch.add(a, b) * 2)
    assert torch.equal(got["async_then"], s.affine(b, transform) - 1)
    assert torch.equal(got["remote_to_here"], s.affine(b, transform))
    # A 3-term dot product: the workers' single-threaded BLAS may round differently.
    assert len(got["async_wait_all"]) == 2
    for product in got["async_wait_all"]:
        assert torch.allclose(product, torch.matmul(a, b.t()), rtol=1e-6, atol=1e-7)


@pytest.mark.feature("core.rpc.rref")
def test_rref_calls_on_owner_and_is_released(torch, scenarios, tmp_path):
    """An RRef to state on worker1, changed from worker0 and from worker2, then released."""
    s = scenarios
    torch.manual_seed(0)
    inputs = {k: torch.randn(3, 2) for k in "abcd"}
    got = run_scenario(torch, tmp_path, "rref_lifecycle", inputs)

    a, b, c, d = (inputs[k] for k in "abcd")
    local = s.Accumulator(a)
    # Elementwise adds of the same tensors in the same order: equal exactly.
    assert torch.equal(got["call_method"], local.add(b))
    assert torch.equal(got["rref_rpc_sync"], local.add(c))
    assert torch.equal(got["rref_rpc_async"], local.add(d))
    is_owner_on_worker2, through_worker2 = got["passed_to_worker2"]
    assert is_owner_on_worker2 is False
    assert torch.equal(through_worker2, local.add(a))
    assert torch.equal(got["rref_remote"], local.value())
    assert torch.equal(got["to_here_tensor"], torch.add(a, b))
    assert got["owner"] == "worker1" and got["is_owner_on_user"] is False
    assert got["held_on_owner"]["num_owner_rrefs"] >= 1
    released = {"num_owner_rrefs": 0, "num_pending_users": 0, "num_forks": 0}
    assert got["released"] == {f"worker{r}": released for r in range(WORLD_SIZE)}


@pytest.mark.feature("core.rpc.dist_autograd")
def test_dist_autograd_gradients_equal_single_process(torch, scenarios, tmp_path):
    """The tutorial's RNN split over two workers: backward across RPC gives the local gradients."""
    s = scenarios
    inputs, embedding, rnn = rnn_inputs(torch, s, batches=1)
    got = run_scenario(torch, tmp_path, "distributed_gradients", inputs)

    loss = s.local_step_loss(embedding, rnn, inputs["tokens"], inputs["target"])
    loss.backward()
    assert torch.allclose(got["loss"], loss.detach(), rtol=GRAD_RTOL, atol=GRAD_ATOL)
    for name, module in (("embedding", embedding), ("rnn", rnn)):
        expected = {n: p.grad for n, p in module.named_parameters()}
        assert got[name].keys() == expected.keys()
        for param, grad in expected.items():
            assert torch.allclose(got[name][param], grad, rtol=GRAD_RTOL, atol=GRAD_ATOL), (
                f"{name}.{param}: max abs diff {(got[name][param] - grad).abs().max().item():.3g}")


@pytest.mark.feature("core.rpc.dist_optimizer")
def test_distributed_optimizer_steps_equal_local_optimizer(torch, scenarios, tmp_path):
    """DistributedOptimizer(SGD with momentum) over remote parameters, k steps, as local SGD."""
    s = scenarios
    inputs, embedding, rnn = rnn_inputs(torch, s, batches=STEPS)
    inputs["optimizer"] = {"lr": 0.05, "momentum": 0.9}
    got = run_scenario(torch, tmp_path, "distributed_optimizer", inputs)

    params = [*embedding.parameters(), *rnn.parameters()]
    optimizer = torch.optim.SGD(params, **inputs["optimizer"])
    for tokens, target in inputs["batches"]:
        optimizer.zero_grad()
        s.local_step_loss(embedding, rnn, tokens, target).backward()
        optimizer.step()
    for name, module in (("embedding", embedding), ("rnn", rnn)):
        for key, value in module.state_dict().items():
            assert torch.allclose(got[name][key], value, rtol=STEP_RTOL, atol=STEP_ATOL), (
                f"{name}.{key}: max abs diff {(got[name][key] - value).abs().max().item():.3g}")
