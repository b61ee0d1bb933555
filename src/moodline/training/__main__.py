"""``python -m moodline.training train|evaluate ...``: the same as ``moodline train|evaluate ...``."""
import sys

from .cli import main

sys.exit(main(sys.argv[1:]))
