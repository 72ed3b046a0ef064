"""Run native or multi-process checks in their own process group, so a hang or crash stays contained."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass


class CheckTimeout(Exception):
    """The check outran its bound; its whole process tree was killed."""


class CheckCrashed(Exception):
    """The check's process died from a signal."""


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run(cmd: list[str], timeout: float, *, cwd=None, env=None, input: str | None = None) -> Completed:
    """Run `cmd` in a new session; raise CheckTimeout after `timeout` s, CheckCrashed on a signal."""
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, text=True, start_new_session=True,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        raise CheckTimeout(
            f"{os.path.basename(cmd[0])} exceeded {timeout:g}s; process group killed\n{err[-2000:]}"
        ) from None
    finally:
        if proc.poll() is None:
            _kill_group(proc)
    _kill_group(proc)  # stragglers the command left behind in its group
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        raise CheckCrashed(f"{os.path.basename(cmd[0])} died with {name}\n{err[-2000:]}")
    return Completed(proc.returncode, out, err)


def run_python(code_or_args: list[str], timeout: float, **kwargs) -> Completed:
    """`run` with this interpreter, e.g. run_python(["-m", "suites.core.rpc_worker", ...], 60)."""
    return run([sys.executable, *code_or_args], timeout, **kwargs)
