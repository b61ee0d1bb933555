"""Dependencies point one way (desktop → engine ← training); the `moodline` launcher is the one
place that knows the window, the engine's commands and training."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MOODLINE = str(Path(sys.executable).with_name("moodline"))

FORBIDDEN = {
    "engine": ("moodline.desktop", "moodline.training", "moodline.__main__", "PyQt5", "tensorflow", "keras",
               "torch", "resemblyzer"),
    "desktop": ("moodline.training", "moodline.__main__", "tensorflow", "keras", "torch", "resemblyzer"),
}


def imports_of(path: Path, package: str) -> set[str]:
    """Every module ``path`` imports (relative imports resolved against ``package``), also
    through ``importlib.import_module("...")`` and ``__import__("...")``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) \
                and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__"):
            found.add(node.args[0].value)
    return found


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_no_backward_imports(folder):
    offending = []
    for path in sorted((ROOT / "src" / "moodline" / folder).rglob("*.py")):
        relative = path.relative_to(ROOT / "src" / "moodline" / folder).parent.parts
        package = ".".join(("moodline", folder, *relative))
        for module in sorted(imports_of(path, package)):
            if any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN[folder]):
                offending.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not offending, "\n".join(offending)


def test_the_import_check_sees_relative_and_dynamic_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from ..desktop import app\nfrom . import cli\nimport importlib\n"
                      "importlib.import_module('tensorflow')\n")
    found = imports_of(sample, "moodline.engine")
    assert {"moodline.desktop.app", "moodline.engine.cli", "tensorflow"} <= found


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_terminal_commands_never_load_qt_or_tensorflow(conversation_wav, model_path):
    result = run_python(
        "import sys; from moodline.__main__ import main;"
        f"rc = main(['analyze', {str(conversation_wav)!r}, '--model', {str(model_path)!r}, '--format', 'json']);"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'PyQt5', 'tensorflow', 'pyqtgraph'});"
        "print('LOADED', loaded, file=sys.stderr); sys.exit(rc)")
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stderr and json.loads(result.stdout)["timeline"]


def test_the_launcher_sends_each_command_where_it_runs():
    help_text = subprocess.run([MOODLINE, "--help"], capture_output=True, text=True)
    assert help_text.returncode == 0
    for command in ("analyze", "listen", "enrol (calibrate)", "devices", "info", "train", "evaluate", "export-voice-model"):
        assert f"    {command} " in help_text.stdout or f"    {command}\n" in help_text.stdout
    window = help_text.stdout[help_text.stdout.index("window options"):]  # it names them, and lists them
    for option in ("--open [PATH]", "--start", "--aid", "--model NAME|FILE", "--device DEVICE", "--sessions-dir DIR"):
        assert f"  {option}" in window, window
    assert "--quit-when-ready" not in window and "--settings-file" not in window  # for tests only
    # train goes to the training package, which parses its own options before loading TensorFlow.
    result = run_python("import sys; from moodline.__main__ import main; rc = main(['train', '--help']);"
                        "assert 'tensorflow' not in sys.modules; sys.exit(rc)")
    assert result.returncode == 0, result.stderr
    assert "--data NAME=PATH" in result.stdout and "--cv K" in result.stdout
    version = subprocess.run([sys.executable, "-m", "moodline", "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == "moodline 0.1.0"


def test_the_engine_alone_runs_only_its_own_commands():
    result = subprocess.run([sys.executable, "-m", "moodline.engine.cli"], capture_output=True, text=True)
    assert result.returncode == 2 and "choose a command: analyze, devices, enrol, info, listen" in result.stderr
    result = subprocess.run([sys.executable, "-m", "moodline.engine.cli", "--open", "x.wav"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "moodline: argument COMMAND [ARGS]: invalid choice" in result.stderr
