"""Transforms script (torchaudio 0.4): torch.jit.script of each transform gives the eager output."""
import pytest

from suites.audio._cases import CASES, assert_close, batch_for, call


@pytest.mark.feature("audio.transforms.jit")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_scripted_equals_eager(torch, torchaudio, request, case):
    """Scripted and eager run the same ops on a batch; random ones replayed from the same seed."""
    fn = case.build(torchaudio)
    scripted = torch.jit.script(fn)
    x = batch_for(torch, case)
    try:
        assert_close(torch, request, f"{case.name}: scripted vs eager", call(torch, scripted, case, x),
                     call(torch, fn, case, x))
    except AssertionError as exc:
        raise AssertionError(f"{case.name}: {exc}") from None
