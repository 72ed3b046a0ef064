"""No process of a run survives it: Ctrl-C, SIGTERM or `kill -9` of `nox -s matrix` mid-row (during an
RPC check and during the Java check), and a row that outruns its time bound inside a hanging RPC check.

Each test runs the real torch-2.14 row (its environment is shared with test_e2e and the `ci` rows),
marks every process of the run with a token in its environment, interrupts at the chosen moment and
then looks for the token in /proc.
"""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT

MATRIX = """
[[row]]
name = "torch-2.14"
pins = { torch = "2.14.1", torchvision = "0.29.1", torchaudio = "2.11.0" }
extra = ["torchcodec==0.17.0"]
"""
# Installing (warm uv cache), starting pytest and its workers and importing torch on a loaded 2-core machine.
REACH_S = 600


def processes_with(token: str) -> dict[int, str]:
    """Live processes whose environment carries `token`: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if token.encode() in (entry / "environ").read_bytes():
                    found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
    return found


def _as_a_terminal_job() -> None:
    """preexec_fn: Ctrl-C and Ctrl-\\ do what they do to a terminal's job, whatever this test inherited: a
    shell without job control starts background commands with SIGINT and SIGQUIT ignored, and a thread may
    have them blocked; both survive exec, and nox would then never see the Ctrl-C this test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGQUIT})


def start_matrix(tmp_path, token: str, *args: str, **env) -> subprocess.Popen:
    """`nox -s matrix` as a terminal starts it: the leader of its own process group."""
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(MATRIX)
    environ = dict(os.environ, HARNESS_MATRIX=str(matrix), HARNESS_REPORTS=str(tmp_path / "reports"),
                   HARNESS_RUN_ID="signals", HARNESS_SIGNAL_TEST_TOKEN=token, **env)
    log = open(tmp_path / "nox.log", "w")  # noqa: SIM115 - a file, not a pipe nobody drains
    nox = subprocess.Popen([sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "--envdir",
                            str(tmp_path / ".nox"), "-s", "matrix", "--",
                            *args], cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT,
                           text=True, start_new_session=True, preexec_fn=_as_a_terminal_job)
    LOGS[nox.pid] = Path(log.name)
    return nox


LOGS: dict[int, Path] = {}  # nox's pid -> its log (Popen.stdout is None when it writes to a file)


def log_of(nox: subprocess.Popen) -> str:
    """The end of nox's output."""
    path = LOGS.get(nox.pid)
    return path.read_text(errors="replace")[-3000:] if path and path.exists() else ""


def wait_for(token: str, nox: subprocess.Popen, predicate, what: str) -> dict[int, str]:
    deadline = time.monotonic() + REACH_S
    while time.monotonic() < deadline:
        found = processes_with(token)
        if predicate(found):
            return found
        if nox.poll() is not None:
            pytest.fail(f"nox ended before {what}:\n{log_of(nox)}")
        time.sleep(0.05)
    pytest.fail(f"never saw {what}")


def assert_nothing_survives(token: str, nox: subprocess.Popen, within: float = 120, *, interrupted=False) -> None:
    """nox exits within `within` seconds (with 130, nox's answer to Ctrl-C, when `interrupted`) and no
    process of the run is left."""
    try:
        nox.wait(timeout=within)
    except subprocess.TimeoutExpired:
        alive = "\n".join(f"  {pid}: {cmd[:200]}" for pid, cmd in kill_all(token).items())
        pytest.fail(f"nox did not stop; alive:\n{alive}\nits log:\n{log_of(nox)}")
    if interrupted:  # the Ctrl-C stopped it, not the row ending on its own
        assert nox.returncode == 130, log_of(nox)
    deadline = time.monotonic() + 15  # SIGKILLed processes vanish from /proc once reaped
    while processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert kill_all(token) == {}, "processes of the run outlived it"


def kill_all(token: str) -> dict[int, str]:
    """SIGKILL every live process of the run (sessions of their own included), so that a failed test leaves
    nothing running either; returns what was alive."""
    found = processes_with(token)
    for pid in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return found


def rpc_workers_running(found: dict[int, str]) -> bool:
    return sum("_rpc_worker" in cmd for cmd in found.values()) >= 3  # the launcher and its forked ranks


def java_running(found: dict[int, str]) -> bool:
    return any(cmd.split(" ", 1)[0].endswith(("/java", "/javac", "/g++", "cc1plus")) for cmd in found.values())


RPC = ("--suites", "core/test_rpc.py", "-k", "test_rpc_sync_async")
HANG = {"HARNESS_RPC_INJECT_HANG": "1", "HARNESS_RPC_BOUND_S": "280"}


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "kill-9"])
def test_interrupting_nox_during_an_rpc_check_leaves_no_process(tmp_path, how):
    token = uuid.uuid4().hex
    nox = start_matrix(tmp_path, token, *RPC, **HANG)
    wait_for(token, nox, rpc_workers_running, "the RPC launcher and its workers")
    if how == "ctrl-c":
        os.killpg(nox.pid, signal.SIGINT)  # what a terminal sends to its foreground job
    else:
        nox.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
    assert_nothing_survives(token, nox, interrupted=how == "ctrl-c")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupting_nox_during_the_java_check_leaves_no_process(tmp_path, how):
    token = uuid.uuid4().hex
    nox = start_matrix(tmp_path, token, "--suites", "core/test_java.py")
    wait_for(token, nox, java_running, "the Java check's JVM or compiler")
    if how == "ctrl-c":
        os.killpg(nox.pid, signal.SIGINT)
    else:
        nox.send_signal(signal.SIGTERM)
    assert_nothing_survives(token, nox, interrupted=how == "ctrl-c")


@pytest.mark.slow
def test_a_row_past_its_bound_in_a_hanging_rpc_check_is_timeout_and_leaves_no_process(tmp_path):
    token = uuid.uuid4().hex
    bound = 150  # room for pytest and two workers to import torch; the injected hang lasts 280 s
    nox = start_matrix(tmp_path, token, *RPC, "--timeout", str(bound), **HANG)
    started = time.monotonic()
    wait_for(token, nox, rpc_workers_running, "the RPC launcher and its workers")
    assert_nothing_survives(token, nox, within=bound + 120 - (time.monotonic() - started))
    assert time.monotonic() - started < bound + 60
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    (row,) = summary["rows"]
    cell = row["features"]["core.rpc.rpc_sync_async"]
    assert cell["status"] == "timeout", cell
    assert row["suites"]["timed_out"] is True
