"""harness.uv: the one runner of uv, the one cleaner of its messages, the one lock parser."""
from harness import isolate, uv

CONFLICT = """\
Using CPython 3.11.7
  × No solution found when resolving dependencies:
  ╰─▶ Because torchvision==0.23.0 depends on torch==2.8.0 and you require torch==2.3.*, we can
      conclude that your requirements and torchvision==0.23.0 are incompatible.
warning: The package `x` does not have an extra named `y`
hint: Pre-releases are available for `torch` in the requested range
"""


def test_the_cleaner_keeps_the_explanation_and_drops_decorations_and_chatter():
    assert uv.clean_message(CONFLICT) == (
        "No solution found when resolving dependencies: Because torchvision==0.23.0 depends on "
        "torch==2.8.0 and you require torch==2.3.*, we can conclude that your requirements and "
        "torchvision==0.23.0 are incompatible. Pre-releases are available for `torch` in the "
        "requested range")
    assert uv.clean_message("error: Failed to fetch: `https://x.test/simple/torch/`") == \
        "Failed to fetch: `https://x.test/simple/torch/`"
    long = "\n".join(f"line {i}" for i in range(100))
    assert uv.clean_message(long).split(" line ")[0] == "line 60"  # the last 40 lines


def test_a_failure_without_words_names_the_exit_status():
    assert uv.problem(isolate.Completed(2, "", "Resolved 3 packages\n")) == "uv exited with status 2"
    assert uv.problem(isolate.Completed(1, "", "error: boom")) == "boom"


def test_the_lock_parser_reads_names_canonically_without_markers_or_comments():
    text = ("# via nothing\ntorch==2.3.1\n    # via torchvision\nPyYAML==6.0.2 ; python_version >= '3'\n"
            "zope.interface[docs]==7.0\n--index-url https://x.test\nnumpy>=1\n")
    assert uv.parse_lock(text) == {"torch": "2.3.1", "pyyaml": "6.0.2", "zope-interface": "7.0"}


def test_run_reports_a_timeout_as_status_124_with_the_reason(monkeypatch):
    def slow(cmd, timeout, input=None):
        raise isolate.CheckTimeout("too slow")

    monkeypatch.setattr(uv.isolate, "run", slow)
    proc = uv.run(["pip", "compile", "-"], 5)
    assert proc.returncode == 124 and proc.stderr == "uv pip compile exceeded 5 s"
    monkeypatch.setattr(uv.isolate, "run", lambda *a, **k: (_ for _ in ()).throw(FileNotFoundError("no uv")))
    assert uv.run(["--version"]).returncode == 127 and uv.version() == "uv"


def test_the_real_uv_answers():
    assert uv.version().startswith("uv ")
