"""`python -m harness.resolve`: the installability map (harness/resolve/command.py)."""
import sys

from harness import isolate
from harness.resolve.command import main

with isolate.guard():
    sys.exit(main())
