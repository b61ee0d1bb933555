"""Where the benchmarks' figures live: ``docs/benchmark-figures.md``, written by the benchmarks.

Each benchmark runs its measurements inside :func:`recorded`: everything it prints still goes
to the terminal, and, once it finishes, also replaces that benchmark's section of the figures
file, headed with the date, the machine and the command. Nobody edits the figures by hand; the
prose in ``docs/benchmarks.md`` says what they mean.
"""
from __future__ import annotations

import io
import os
import platform
import re
import sys
import tempfile
from contextlib import contextmanager, redirect_stdout
from datetime import date
from pathlib import Path
from typing import Iterator

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "benchmark-figures.md"
HEAD = """# Benchmark figures

Written by the benchmark commands themselves (`benchmarks/figures.py`): each section is the
output of its command's last complete run, with the date and the machine. What the figures mean,
and the targets, are in [benchmarks.md](benchmarks.md).
"""


class _Tee(io.TextIOBase):
    def __init__(self, *streams) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()}, Python {platform.python_version()}"


@contextmanager
def recorded() -> Iterator[None]:
    """Print as usual; on success, the printed text becomes the section of this command (the
    script and its arguments) in the figures file."""
    captured = io.StringIO()
    with redirect_stdout(_Tee(sys.stdout, captured)):
        yield
    name = " ".join([Path(sys.argv[0]).stem, *sys.argv[1:]])
    command = " ".join(["benchmarks/" + Path(sys.argv[0]).name, *sys.argv[1:]])
    write_section(name, f"{date.today().isoformat()}, {machine()}: `{command}`", captured.getvalue())


def write_section(name: str, heading: str, text: str) -> None:
    """Replace (or add) section ``name`` of the figures file, atomically."""
    try:
        current = FIGURES.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = HEAD
    begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    body = f"{begin}\n## {name}\n\n{heading}\n\n```\n{text.rstrip()}\n```\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    updated = pattern.sub(lambda _: body, current) if pattern.search(current) else current.rstrip() + "\n\n" + body
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=FIGURES.parent, prefix=".benchmark-figures.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(updated.rstrip() + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, FIGURES)
