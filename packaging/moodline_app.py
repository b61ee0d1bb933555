"""The bundle's entry point: the ``moodline`` program, frozen by PyInstaller (scripts/build-bundle)."""
import multiprocessing
import sys

from moodline.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # `analyze --jobs` starts worker processes from the bundle itself
    sys.exit(main())
