"""Nothing leaves the machine, no library's telemetry either: a run with a fresh home folder
leaves no telemetry files and attempts no network connection (strace)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import soundfile as sf

from audio_fixtures import RATE

MOODLINE = str(Path(sys.executable).with_name("moodline"))
ROOT = Path(__file__).resolve().parents[2]


def traced(command: list[str], home: Path, tmp_path: Path, **env) -> tuple[subprocess.CompletedProcess, str]:
    """Run ``command`` under strace with a fresh HOME; its result and every connect() it tried."""
    strace = shutil.which("strace")
    assert strace, "strace is needed (scripts/system-packages --test)"
    log = tmp_path / "connect.log"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ORT_", "RAY_USAGE"))}
    result = subprocess.run([strace, "-f", "-qq", "-e", "trace=connect", "-o", str(log), *command],
                            capture_output=True, text=True, timeout=300, env={**clean, "HOME": str(home), **env})
    return result, log.read_text()


def files_under(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())


def test_analysis_and_its_workers_write_and_send_nothing(tmp_path, model_path, conversation):
    home = tmp_path / "home"
    home.mkdir()
    for name in ("a.wav", "b.wav"):
        sf.write(tmp_path / name, conversation, RATE)
    result, connects = traced([MOODLINE, "analyze", str(tmp_path / "a.wav"), str(tmp_path / "b.wav"), "--jobs", "2",
                               "--model", str(model_path)], home, tmp_path)
    assert result.returncode == 0, result.stderr
    assert files_under(home) == []  # no ~/.cache/Microsoft/DeveloperTools/.onnxruntime/deviceid
    assert not re.search(r"AF_INET6?", connects), connects  # no network connection attempted


def test_the_window_writes_and_sends_nothing(tmp_path, model_path, conversation_wav):
    home = tmp_path / "home"
    home.mkdir()
    result, connects = traced([MOODLINE, "--open", str(conversation_wav), "--model", str(model_path),
                               "--settings-file", str(tmp_path / "settings.ini"), "--quit-when-ready"],
                              home, tmp_path, QT_QPA_PLATFORM="offscreen")
    assert result.returncode == 0, result.stderr
    assert not [f for f in files_under(home) if "Microsoft" in f or "onnxruntime" in f], files_under(home)
    assert not re.search(r"AF_INET6?", connects), connects


def test_the_telemetry_switches_are_set_before_any_library_reads_them():
    code = ("import os, sys; import moodline.engine.model; "
            "print(os.environ['ORT_DISABLE_TELEMETRY'], os.environ['RAY_USAGE_STATS_ENABLED'], "
            "'onnxruntime' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={k: v for k, v in os.environ.items() if not k.startswith(("ORT_", "RAY_USAGE"))})
    assert result.stdout.split() == ["1", "0", "False"], result.stderr
