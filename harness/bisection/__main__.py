"""`python -m harness.bisection`: the bisect command (harness/bisection/cli.py)."""
import sys

from harness import isolate
from harness.bisection.cli import main

with isolate.guard():
    sys.exit(main())
