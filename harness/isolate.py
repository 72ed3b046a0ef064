"""The one way the harness starts a child process, so that no process outlives the run that started it.

Every child (uv, pytest, the JVM and javac, RPC launchers and workers, bisect, resolve and calibration
helpers) is started by `start` or `run`: in its own session (process group), so a timeout kills the
whole tree and a terminal's Ctrl-C reaches only the harness, which then cleans up; and with a
parent-death signal, so it dies if its parent is killed outright (`kill -9`).

A long-lived harness entry point (`run-suites`, bisect, resolve, calibrate) wraps its work in `guard()`:
it becomes a child subreaper (Linux `PR_SET_CHILD_SUBREAPER`), so descendants whose parents died are
re-parented to it instead of to init; it turns SIGTERM and the death of its own parent into an orderly
exit; and on the way out it kills every descendant still alive.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from dataclasses import dataclass

# <linux/prctl.h>
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36


class CheckTimeout(Exception):
    """The check outran its bound; its whole process tree was killed."""


class CheckCrashed(Exception):
    """The check's process died from a signal."""


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


def _prctl():
    """libc's prctl, resolved once in the parent (a forked child must not look symbols up)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: no parent-death signal, no subreaper
        return None


_PRCTL = _prctl()


def _die_with_parent() -> None:
    """preexec_fn: SIGKILL this child when the process that started it dies."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)


def start(cmd: list[str], **popen_kwargs) -> subprocess.Popen:
    """Start `cmd` in a new session that dies with its parent; Popen keyword arguments pass through."""
    return subprocess.Popen(cmd, start_new_session=True, preexec_fn=_die_with_parent, **popen_kwargs)


def descendants(pid: int | None = None) -> list:
    """psutil.Process objects of every live descendant of `pid` (default: this process)."""
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL `proc`, its process group and every descendant that left the group (setsid, fork)."""
    try:
        found = descendants(proc.pid)
    except ImportError:  # psutil is in every harness environment; nox's own may lack it
        found = []
    for target in (proc.pid, *(p.pid for p in found)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(target, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(target, signal.SIGKILL)


def run(cmd: list[str], timeout: float, *, cwd=None, env=None, input: str | None = None) -> Completed:
    """Run `cmd` to completion, capturing its output (text).

    Raises CheckTimeout after `timeout` seconds and CheckCrashed when the command dies from a signal;
    in both cases, and on KeyboardInterrupt, its whole tree is killed first. Stragglers the command
    left in its process group are killed when it returns.
    """
    proc = start(cmd, cwd=cwd, env=env, text=True,
                 stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(proc)
        out, err = proc.communicate()
        raise CheckTimeout(
            f"{os.path.basename(cmd[0])} exceeded {timeout:g}s; process group killed\n{err[-2000:]}"
        ) from None
    finally:
        if proc.poll() is None:
            kill_tree(proc)
    kill_tree(proc)  # stragglers the command left behind
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        raise CheckCrashed(f"{os.path.basename(cmd[0])} died with {name}\n{err[-2000:]}")
    return Completed(proc.returncode, out, err)


def run_python(code_or_args: list[str], timeout: float, **kwargs) -> Completed:
    """`run` with this interpreter, e.g. run_python(["-m", "suites.core.rpc_worker", ...], 60)."""
    return run([sys.executable, *code_or_args], timeout, **kwargs)


class Terminated(SystemExit):
    """SIGTERM (or the death of our parent) arrived: leave, cleaning up on the way."""


def _on_sigterm(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one orderly exit, not one per signal
    raise Terminated(128 + signum)


def kill_descendants() -> None:
    """Kill every live descendant of this process until none is left."""
    import psutil

    for _ in range(20):  # orphans are re-parented to us (subreaper) while we kill their parents
        found = descendants()
        if not found:
            break
        for child in found:
            with contextlib.suppress(psutil.Error):
                child.kill()
        psutil.wait_procs(found, timeout=2)


@contextlib.contextmanager
def guard():
    """Make this process responsible for its whole tree while the block runs (see the module docstring)."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_CHILD_SUBREAPER, 1)
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        kill_descendants()
        signal.signal(signal.SIGTERM, previous)
