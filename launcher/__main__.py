"""``python -m moodline.launcher ARGS`` is ``moodline ARGS``."""
import sys

from moodline.launcher import main

sys.exit(main())
