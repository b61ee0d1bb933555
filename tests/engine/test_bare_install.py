"""The runtime needs only its declared dependencies: every runtime module imports in a virtual
environment built by ``scripts/setup-env`` with no extras (what the README's first command
gives a newcomer), where TensorFlow, librosa and pytest are not installed.

``scripts/test`` builds that environment first (``scripts/check-bare-install``) and names it in
``$MOODLINE_BARE_VENV``; run alone, this test builds it (a minute or two, once).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_PACKAGES = ("moodline.__main__", "moodline.engine", "moodline.desktop", "moodline.models", "moodline.assets")

IMPORT_ALL = """
import importlib, pkgutil, sys
failed = []
names = []
for package in sys.argv[1:]:
    module = importlib.import_module(package)
    names.append(package)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), package + "."):
        if not info.name.endswith(".__main__"):  # importing it would run the program
            names.append(info.name)
for name in names:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
extras = [m for m in ("tensorflow", "torch", "resemblyzer", "librosa", "pytest", "keras") if m in sys.modules]
print(len(names), "modules")
if failed or extras:
    sys.exit("\\n".join(failed + [f"runtime imported an extra: {m}" for m in extras]))
"""


def bare_python() -> Path:
    venv = Path(os.environ.get("MOODLINE_BARE_VENV") or ROOT / ".venv-bare")
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if not python.exists():
        subprocess.run([str(ROOT / "scripts" / "setup-env")], cwd=ROOT, check=True,
                       env={**os.environ, "MOODLINE_VENV": str(venv)})
    return python


def test_every_runtime_module_imports_with_only_the_runtime_dependencies():
    python = bare_python()
    for extra in ("tensorflow", "librosa", "pytest"):
        probe = subprocess.run([str(python), "-c", f"import {extra}"], capture_output=True)
        assert probe.returncode != 0, f"the bare environment has {extra}: it would hide a missing dependency"
    # Offscreen Qt: importing the desktop modules must not need a display; -I keeps the
    # working directory (and any extras beside it) off sys.path.
    result = subprocess.run([str(python), "-I", "-c", IMPORT_ALL, *RUNTIME_PACKAGES], capture_output=True,
                            text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[0]) >= 20  # the whole runtime, not an empty walk


def test_the_optional_extras_are_asked_for_in_one_line_when_missing(tmp_path):
    """pyarrow (--parquet) and Ray (--ray) are extras, not runtime dependencies: without them a
    bare install analyses as ever and names the extra to install, in one line, exit 2."""
    moodline = bare_python().with_name("moodline.exe" if sys.platform == "win32" else "moodline")
    demo = ROOT / "assets" / "demo.flac"
    for options, extra in ((["--out", str(tmp_path / "out"), "--parquet"], "moodline[tables]"),
                           (["--ray"], "moodline[cluster]")):
        result = subprocess.run([str(moodline), "analyze", str(demo), "--model", "fast", *options],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 2 and result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and f"pip install '{extra}'" in lines[0], lines
