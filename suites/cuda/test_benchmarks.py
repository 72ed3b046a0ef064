"""GPU baselines: timed with CUDA events after warm-up, with their spread recorded for the rule."""
import pytest

from suites import _models
from suites.bench import _memory

ROUNDS, WARMUP = 30, 5


@pytest.mark.feature("bench.cuda.resnet50")
def test_resnet50_fp16_batch64_forward(torch, torchvision, benchmark):
    torch.manual_seed(0)
    model = torchvision.models.resnet50().eval()
    # Realistic parameters (suites/_models.py), drawn in float32 on the CPU: activations stay O(1), so fp16
    # neither overflows nor flushes to zero, and the timed kernels see non-trivial data.
    _models.realistic(torch, model, seed=0, probe=(_models.probe_images(torch, 224),))
    model = model.half().cuda()
    x = torch.rand(64, 3, 224, 224, device="cuda", dtype=torch.half)
    with torch.no_grad():
        _models.assert_not_degenerate(torch, model(x).float().cpu(), min_std=0.05, name="fp16 logits")
    events: list[float] = []

    def forward():
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        model(x)
        end.record()
        torch.cuda.synchronize()
        events.append(start.elapsed_time(end) / 1000.0)

    # Peak resident memory of the process and torch.cuda.max_memory_allocated over the rounds,
    # in the fields every benchmark record carries (suites/bench/_memory.py).
    with torch.no_grad(), _memory.track() as memory:
        benchmark.pedantic(forward, rounds=ROUNDS, warmup_rounds=WARMUP, iterations=1)
    timed = events[WARMUP:]
    benchmark.extra_info.update(memory.result.as_extra_info())
    assert memory.result.cuda_max_allocated_bytes, "torch.cuda.max_memory_allocated read 0 on a CUDA run"
    benchmark.extra_info.update(
        timer="cuda-events", device=torch.cuda.get_device_name(0), cuda_event_rounds=timed,
        spread=max(timed) / min(timed) - 1,
    )
    # A forward pass of this size takes milliseconds; an empty or failed timing would not.
    assert len(timed) == ROUNDS and min(timed) > 1e-4
