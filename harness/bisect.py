"""`python -m harness.bisect`: the bisect command, kept under its old name (harness/bisection/cli.py)."""
import sys

from harness import isolate
from harness.bisection.cli import main, parser  # noqa: F401  (the command's entry points)

if __name__ == "__main__":
    with isolate.guard():
        sys.exit(main())
