"""`python -m gankit` (and `torchrun -m gankit`) runs the command line."""
import sys

from .cli import main

sys.exit(main())
