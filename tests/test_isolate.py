"""harness.isolate: the one child-process runner. Timeouts kill the whole tree, nothing outlives a
run, and a crash names its signal (no torch)."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from harness import isolate

# A child that starts a grandchild, in a session of its own (argv[3] == "session": killing the child's
# process group alone would miss it) or in the child's group, with its output elsewhere (so the pipes
# close when the child exits); it writes the grandchild's pid, then hangs or returns (argv[2]).
TREE = textwrap.dedent('''
    import subprocess, sys, time
    grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                                  start_new_session=sys.argv[3] == "session",
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    open(sys.argv[1], "w").write(str(grandchild.pid))
    print("started", flush=True)
    if sys.argv[2] == "hang":
        time.sleep(600)
''')


def gone(pid: int, within: float = 10.0) -> bool:
    """Whether `pid` has exited (a zombie counts as exited) within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def grandchild_pid(path) -> int:
    return int(path.read_text())


def test_run_returns_the_exit_status_and_both_streams():
    done = isolate.run_python(["-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"], 30)
    assert done == isolate.Completed(3, "out\n", "err\n")
    assert isolate.run([sys.executable, "-c", "print(input()[::-1])"], 30, input="abc").stdout == "cba\n"


def test_a_timeout_kills_the_whole_tree_and_says_so(tmp_path):
    pidfile = tmp_path / "pid"
    started = time.monotonic()
    with pytest.raises(isolate.CheckTimeout, match=r"exceeded 2s; process group killed"):
        isolate.run_python(["-c", TREE, str(pidfile), "hang", "session"], 2)
    assert time.monotonic() - started < 15
    assert gone(grandchild_pid(pidfile)), "the grandchild outlived the timeout"


def test_stragglers_left_in_the_process_group_of_a_command_that_returned_are_killed(tmp_path):
    # (An orphan that left the group too is out of `run`'s reach: guard(), below, catches those.)
    pidfile = tmp_path / "pid"
    done = isolate.run_python(["-c", TREE, str(pidfile), "return", "group"], 30)
    assert done.returncode == 0 and done.stdout == "started\n"
    assert gone(grandchild_pid(pidfile)), "a grandchild outlived the command that started it"


@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGABRT, signal.SIGKILL])
def test_a_crash_names_the_signal(sig):
    code = f"import os, signal, sys; print('dying', file=sys.stderr, flush=True); os.kill(os.getpid(), {int(sig)})"
    with pytest.raises(isolate.CheckCrashed) as err:
        isolate.run_python(["-c", code], 30)
    assert str(err.value).startswith(f"{os.path.basename(sys.executable)} died with {sig.name}")
    assert "dying" in str(err.value)  # the end of its stderr comes along


def test_children_start_in_their_own_session():
    proc = isolate.start([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert os.getsid(proc.pid) == proc.pid != os.getsid(0)  # Ctrl-C at a terminal reaches only us
    finally:
        isolate.kill_tree(proc)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.skipif(isolate._PRCTL is None, reason="no prctl: not Linux")
def test_a_child_dies_with_the_process_that_started_it(tmp_path):
    # A middle process starts a sleeper through isolate.start, then is killed with SIGKILL: no cleanup
    # code of its own runs, so only the parent-death signal can take the sleeper down.
    pidfile = tmp_path / "pid"
    middle = textwrap.dedent(f'''
        import sys, time
        from harness import isolate
        child = isolate.start([sys.executable, "-c", "import time; time.sleep(600)"])
        open({str(pidfile)!r}, "w").write(str(child.pid))
        time.sleep(600)
    ''')
    proc = subprocess.Popen([sys.executable, "-c", middle], env=dict(os.environ, PYTHONPATH=os.getcwd()))
    try:
        deadline = time.monotonic() + 30
        while not pidfile.exists() or not pidfile.read_text():
            assert time.monotonic() < deadline, "the middle process never started its child"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        assert gone(grandchild_pid(pidfile)), "the child outlived its killed parent"
    finally:
        proc.kill()
        proc.wait(10)


def test_guard_kills_every_descendant_on_the_way_out(tmp_path):
    # Run in a child interpreter: guard() makes its process a subreaper and changes SIGTERM's handler.
    pidfile = tmp_path / "pid"
    code = textwrap.dedent(f'''
        import subprocess, sys
        from harness import isolate
        with isolate.guard():
            p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
            open({str(pidfile)!r}, "w").write(str(p.pid))
        print(len(isolate.descendants()))
    ''')
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "0\n"
    assert gone(grandchild_pid(pidfile))


def test_sigterm_under_guard_is_an_orderly_exit_that_kills_the_tree(tmp_path):
    pidfile = tmp_path / "pid"
    code = textwrap.dedent(f'''
        import subprocess, sys, time
        from harness import isolate
        with isolate.guard():
            p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
            open({str(pidfile)!r}, "w").write(str(p.pid))
            time.sleep(600)
    ''')
    proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=os.getcwd()))
    try:
        deadline = time.monotonic() + 30
        while not pidfile.exists() or not pidfile.read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.terminate()
        assert proc.wait(30) == 128 + signal.SIGTERM  # Terminated(SystemExit): the exit status says why
        assert gone(grandchild_pid(pidfile))
    finally:
        proc.kill()
        proc.wait(10)
