"""Moodline's main window: live listening, recordings, sessions, exports and the aid view.

The window only draws and reacts. Everything slow — loading a model, scanning devices,
opening an input stream, analysing a file, finishing a session — runs as a :class:`Task` on
a worker thread; live points arrive from the engine thread through a queued Qt signal. One
frame timer (about 30 fps) moves the newest audio into the level meter and waveform, checks
that the live session is healthy, moves the playback cursor and redraws the plots.
"""
from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

from PyQt5.QtCore import QSettings, Qt, QTimer, pyqtSignal
from PyQt5.QtWidgets import (QAction, QFileDialog, QHBoxLayout, QLabel, QMainWindow,
                             QProgressBar, QPushButton, QSizePolicy, QToolBar, QVBoxLayout, QWidget)

from moodline.engine.errors import MoodlineError
from moodline.engine.model import CUDA, EmotionModel, resolve_model
from moodline.engine.session import (Recording, analyze_recording, default_sessions_dir, open_session, save_as_session,
                                     save_session_copy, session_folder_of)
from moodline.engine.timeline import Timeline, format_clock
from moodline.engine.voices import enrolled_voice

from .exports import Export, write_export
from .figure import FigureContent, save_figure
from .jobs import BLOCKING_JOBS, SESSION_JOBS, JobState
from .live import LiveController, LiveSession, SourceFactory, microphone
from .places import DialogKind, Places
from .playback import PlaybackController
from .recording import waveform_envelope
from .series import GrowingEnvelope, TimelineSeries
from .settings import DesktopSettings, load_settings, make_store_private, save_settings
from .widgets.aid_view import ConversationAidView
from .widgets.banner import MessageBanner, Topic
from .widgets.device_picker import DevicePicker
from .widgets.emotion_panel import EmotionPanel
from .widgets.enrol_dialog import EnrolVoiceDialog
from .widgets.icons import app_icon
from .widgets.level_meter import LevelMeter
from .widgets.segments_list import SegmentsList
from .widgets.settings_dialog import SettingsDialog
from .widgets.side_dock import SideDock, fit_docks
from .widgets.summary_panel import SummaryPanel
from .widgets.timeline_view import TimelineView
from .workers import Task, run_task

FRAME_MS = 33  # the frame timer: ~30 redraws per second at most
MIN_WINDOW_PX = (720, 480)  # a small laptop screen with room to spare; the legend wraps below ~1100
AUDIO_FILTER = "Audio (*.wav *.flac *.ogg *.mp3 *.m4a *.aac *.opus *.aif *.aiff);;All files (*)"
DOCK_WIDTH_PX = 340  # the summary and segments panels on the right
DOCKS_MIN_WINDOW_PX = 1040  # ... shown in a window at least this wide (the timeline keeps its room)


def scan_input_devices():
    """Input devices, looking afresh for ones plugged in since the last look."""
    from moodline.engine import sources

    return sources.input_devices(rescan=True)


def load_model(path: str) -> EmotionModel:
    return EmotionModel(path)


def prepare(recording: Recording) -> tuple[Recording, TimelineSeries, GrowingEnvelope | None]:
    """What the view needs to draw a whole recording, computed off the GUI thread."""
    series = TimelineSeries(recording.timeline.labels)
    series.extend(recording.timeline.points)
    series.duration_s = recording.timeline.duration_s  # segments end where the CLI's do
    # Computed here, on the worker, once: the window's thread then finds them ready.
    recording.timeline.summary(), recording.timeline.segments(), series.segments()
    envelope = waveform_envelope(recording.audio, recording.sample_rate_hz) \
        if recording.audio is not None else None
    return recording, series, envelope


def analyze_and_prepare(path, model, settings, voice, progress, cancelled):
    enrolment = enrolled_voice(voice, model, settings)
    return prepare(analyze_recording(path, model, settings, progress, cancelled, enrolment))


def open_and_prepare(folder):
    return prepare(open_session(folder))


@dataclass
class QueuedRequest:
    """Something asked of the window before it could do it (``moodline --open FILE`` or
    ``--start`` while the model loads); carried out, in order, as soon as it can be."""

    what: str  # for the status bar while it waits: "open talk.wav"
    run: Callable[[], None]
    needs_devices: bool = False  # waits for the device list too (Start does)


class MainWindow(QMainWindow):
    # Emitted while closing, once a live session is finished and before the aid view closes:
    # the window still shows everything it showed.
    closing = pyqtSignal()

    def __init__(self, store: QSettings | None = None, *, model_path: str | None = None,
                 device: str | None = None, sessions_root: Path | None = None,
                 source_factory: SourceFactory = microphone,
                 device_scanner: Callable[[], Sequence] = scan_input_devices) -> None:
        super().__init__()
        self.store = store if store is not None else QSettings()
        make_store_private(self.store)
        self.settings = load_settings(self.store)
        self.palette_ = self.settings.colour_palette()  # one palette, shared by every view
        self.model_path_override = model_path
        self.device_override = device
        self.sessions_root = sessions_root
        self.places = Places(self.store, sessions_root or default_sessions_dir())
        self.source_factory = source_factory
        self.device_scanner = device_scanner
        self.model: EmotionModel | None = None
        self.live: LiveSession | None = None
        self.recording: Recording | None = None
        self.playback = PlaybackController(self)
        self.live_controller = LiveController(self)
        self.player = self.playback.player
        self.aid: ConversationAidView | None = None
        self.jobs = JobState.IDLE  # every job under way
        self.tasks: set[Task] = set()
        self._analysis: Task | None = None
        self._queued: deque[QueuedRequest] = deque()
        self.close_when_idle = False  # Quit pressed while a session was starting or stopping
        self._closing = False
        self.setWindowTitle("Moodline")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._build()
        self.setMinimumSize(*MIN_WINDOW_PX)
        geometry = self.store.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 720)
        self.frame_timer = QTimer(self)
        self.frame_timer.setInterval(FRAME_MS)
        self.frame_timer.timeout.connect(self.on_frame)
        self.frame_timer.start()
        self.refresh_devices()
        self.reload_model()

    # ---- layout ----------------------------------------------------------------------
    def _build(self) -> None:
        bar = QToolBar("Listening")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.devices = DevicePicker()
        self.devices.refreshRequested.connect(self.refresh_devices)
        bar.addWidget(self.devices)
        self.start_button = QPushButton("●  Start")
        self.start_button.setToolTip("Start listening (Ctrl+R)")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("■  Stop")
        self.stop_button.setToolTip("Stop listening or playback (Ctrl+.)")
        self.stop_button.clicked.connect(self.stop)
        for w in (self.start_button, self.stop_button):
            w.setMinimumWidth(90)
            bar.addWidget(w)
        bar.addSeparator()
        self.level = LevelMeter()
        self.level.setMaximumWidth(220)
        bar.addWidget(QLabel(" Level "))
        bar.addWidget(self.level)
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().Expanding, spacer.sizePolicy().Preferred)
        bar.addWidget(spacer)
        self.aid_button = QPushButton("Conversation aid")
        self.aid_button.setToolTip("Full-screen view with one large word (F11)")
        self.aid_button.clicked.connect(self.toggle_aid)
        bar.addWidget(self.aid_button)

        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(8, 6, 8, 4)
        self.banner = MessageBanner()
        outer.addWidget(self.banner)
        row = QHBoxLayout()
        self.panel = EmotionPanel(self.palette_)
        row.addWidget(self.panel)
        self.timeline_view = TimelineView(self.palette_, self.settings.follow_minutes, self.unsure_threshold())
        self.timeline_view.seekRequested.connect(self.playback.play_from)
        self.timeline_view.jumpRequested.connect(self.playback.jump_to)
        self.timeline_view.exportRequested.connect(self.export_view_dialog)
        self.timeline_view.set_voice_rows(self.settings.voice_rows)
        self.timeline_view.voiceRowsChanged.connect(self._voice_rows_chosen)
        row.addWidget(self.timeline_view, 1)
        outer.addLayout(row, 1)
        progress_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFormat("Analysing… %p%")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_analysis)
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        self.progress_box = QWidget()
        self.progress_box.setLayout(progress_row)
        self.progress_box.hide()
        outer.addWidget(self.progress_box)
        self.setCentralWidget(central)
        self.summary_panel = SummaryPanel(self.palette_)
        self.summary_panel.segmentChosen.connect(self.playback.play_segment)
        self.segments_list = SegmentsList(self.palette_, self.unsure_threshold())
        self.segments_list.segmentChosen.connect(self.playback.play_segment)
        self.summary_dock = SideDock("&Summary", "summary-dock", self.summary_panel, DOCK_WIDTH_PX, self)
        self.segments_dock = SideDock("S&egments", "segments-dock", self.segments_list, DOCK_WIDTH_PX, self)
        for dock in (self.summary_dock, self.segments_dock):
            self.addDockWidget(Qt.RightDockWidgetArea, dock)
        self.resizeDocks([self.summary_dock], [DOCK_WIDTH_PX], Qt.Horizontal)
        self._docks_roomy = True
        self._summary_dock_sized = False

        status = self.statusBar()
        self.status_device, self.status_model, self.status_provider = QLabel(), QLabel(), QLabel()
        self.status_dropped, self.status_session = QLabel("dropped audio: 0.0 s"), QLabel()
        for w in (self.status_device, self.status_model, self.status_provider, self.status_dropped):
            status.addPermanentWidget(w)
        # A long path is cut at the window's edge rather than widening the window.
        self.status_session.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        status.addWidget(self.status_session, 1)

        menu = self.menuBar()
        file = menu.addMenu("&File")
        self.open_action = self._action(file, "&Open Recording…", self.open_dialog, "Ctrl+O")
        self._action(file, "Open &Session…", self.open_session_dialog, "Ctrl+Shift+O")
        self.recent_menu = file.addMenu("Open &Recent")
        self.fill_recent_menu()
        file.addSeparator()
        self.save_action = self._action(file, "&Save Session As…", self.save_session_dialog, "Ctrl+S")
        export = file.addMenu("&Export")
        self.export_actions = {
            kind: self._action(export, kind.menu_text, lambda _=False, kind=kind: self.export_dialog(kind))
            for kind in Export
        }
        file.addSeparator()
        self._action(file, "&Settings…", self.settings_dialog, "Ctrl+,")
        self._action(file, "&Quit", self.close, "Ctrl+Q")
        session = menu.addMenu("&Listen")
        self.start_action = self._action(session, "&Start", self.start, "Ctrl+R")
        self.stop_action = self._action(session, "S&top", self.stop, "Ctrl+.")
        session.addAction("Look for &Input Devices Again", self.refresh_devices)
        view = menu.addMenu("&View")
        self._action(view, "&Conversation Aid", self.toggle_aid, "F11")
        self.play_action = self._action(view, "&Play / Pause", self.playback.toggle, "Space")
        tv = self.timeline_view
        for action in (None, tv.previous_action, tv.next_action, None, tv.fit_action, tv.zoom_in_action,
                       tv.zoom_out_action, None, tv.detail_action, tv.voice_rows_action, None,
                       self.summary_dock.toggleViewAction(), self.segments_dock.toggleViewAction()):
            view.addSeparator() if action is None else view.addAction(action)
        self.setStyleSheet("QToolBar {spacing:6px; padding:4px;}")

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        roomy = self.width() >= DOCKS_MIN_WINDOW_PX
        if roomy != self._docks_roomy:  # only on crossing: a panel shown by hand stays
            self._docks_roomy = roomy
            fit_docks((self.summary_dock, self.segments_dock), roomy)

    def _action(self, menu, text: str, slot, shortcut: str | None = None) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(slot)
        if shortcut:
            action.setShortcut(shortcut)
        menu.addAction(action)
        return action

    @property
    def busy(self) -> bool:
        """Whether a job runs that the window waits for (loading, starting, stopping, analysing, opening)."""
        return bool(self.jobs & BLOCKING_JOBS)

    def update_actions(self) -> None:
        """Enable what can be done now: computed from :attr:`jobs` (and what is loaded and shown)."""
        jobs = self.jobs
        in_session = bool(jobs & SESSION_JOBS)
        idle = not jobs & (BLOCKING_JOBS | JobState.LISTENING)
        can_start = idle and self.model is not None and self.devices.current_name() is not None
        self.start_button.setEnabled(can_start)
        self.start_action.setEnabled(can_start)
        stoppable = JobState.LISTENING in jobs
        self.stop_button.setEnabled(stoppable or self.player.playing)
        self.stop_action.setEnabled(stoppable or self.player.playing)
        self.devices.setEnabled(not in_session)
        self.open_action.setEnabled(idle and self.model is not None)
        has_timeline = self.current_timeline() is not None
        for action in self.export_actions.values():
            action.setEnabled(has_timeline)
        self.export_actions[Export.AUDIO_WAV].setEnabled(self.recording is not None and self.recording.audio is not None
                                                         and not in_session)
        self.save_action.setEnabled(self.recording is not None and not in_session)

    # ---- messages --------------------------------------------------------------------
    def show_error(self, topic: Topic, text: str, actions=()) -> None:
        self.banner.show_message(topic, text, "error", actions)

    def show_info(self, topic: Topic, text: str, actions=()) -> None:
        self.banner.show_message(topic, text, "info", actions)

    # ---- model -----------------------------------------------------------------------
    def model_file(self) -> str:
        """The model to load: --model, else Settings (a shipped model's name or a file), else the default."""
        return str(resolve_model(self.model_path_override or self.settings.model_path))

    def reload_model(self) -> None:
        self.model = None
        self.jobs |= JobState.LOADING_MODEL
        self.status_model.setText("model: loading…")
        self.status_provider.setText("")
        self.update_actions()
        run_task(Task(load_model, self.model_file()), self.tasks,
                 on_done=self._model_loaded, on_failed=self._model_failed)

    def _model_loaded(self, model: EmotionModel) -> None:
        self.model = model
        self._show_unsure_threshold()  # the model may bring its own line
        self.jobs &= ~JobState.LOADING_MODEL
        self.banner.clear(Topic.MODEL)
        self.status_model.setText(f"model: {model.path.name}")
        self.status_model.setToolTip(str(model.path))
        self.status_provider.setText("GPU (CUDA)" if model.provider == CUDA else "CPU")
        self.update_actions()
        self.run_queued()

    def unsure_threshold(self) -> float:
        """The "unsure" line in use: the one chosen in Settings, else the model's own, else the engine's."""
        return self.settings.unsure_line(self.model.info.unsure_threshold if self.model is not None else None)

    def _show_unsure_threshold(self) -> None:
        """Every view that marks "unsure" takes the line in use now."""
        threshold = self.unsure_threshold()
        self.timeline_view.set_unsure_threshold(threshold)
        self.segments_list.set_unsure_threshold(threshold)
        if self.aid is not None:
            self.aid.set_settings(self.settings.stabilizer(threshold))

    def _model_failed(self, message: str) -> None:
        self.jobs &= ~JobState.LOADING_MODEL
        self._show_unsure_threshold()  # no model: no line of its own
        self.status_model.setText("model: none")
        self.show_error(Topic.MODEL, f"The emotion model could not be loaded: {message}. "
                        "Choose another model file to go on.",
                        [("Choose model…", self.choose_model_dialog)])
        self.update_actions()
        self.run_queued()  # opening a session needs no model; the rest says why it cannot run

    def choose_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model file",
                                              str(self.places.start_folder(DialogKind.MODEL)),
                                              "ONNX models (*.onnx)")
        if path:
            self.places.remember_folder(DialogKind.MODEL, path)
            self.apply_settings(replace(self.settings, model_path=path))

    # ---- devices ---------------------------------------------------------------------
    def refresh_devices(self) -> None:
        if self.jobs & SESSION_JOBS or self.player.playing:
            return  # looking again restarts PortAudio, which would close the input or the player
        self.jobs |= JobState.SCANNING
        run_task(Task(self.device_scanner), self.tasks,
                 on_done=self._devices_found, on_failed=self._devices_failed)

    def _devices_found(self, devices) -> None:
        self.jobs &= ~JobState.SCANNING
        remembered = self.device_override or self.store.value("device/name")
        self.devices.set_devices(devices, remembered)
        if not devices:
            self._devices_failed("no input device found")
            return
        self.banner.clear(Topic.DEVICE)
        self.status_device.setText(f"input: {self.devices.current_name()}")
        self.update_actions()
        self.run_queued()

    def _devices_failed(self, message: str) -> None:
        self.jobs &= ~JobState.SCANNING
        self.devices.set_devices([], None)
        self.status_device.setText("input: none")
        self.show_error(Topic.DEVICE, f"No audio input device is available ({message}). Connect a microphone "
                        "and look again; you can still open recordings.",
                        [("Look again", self.refresh_devices)])
        self.update_actions()
        self.run_queued()

    # ---- requests made before the window was ready -------------------------------------
    def request_open(self, path: str | os.PathLike) -> None:
        """Open ``path`` now, or as soon as the model is loaded (``moodline --open FILE``)."""
        self._queue(QueuedRequest(f"open {Path(path).name}", lambda: self.open_path(path)))

    def request_start(self) -> None:
        """Start listening now, or once the model and the devices are ready (``--start``)."""
        if not any(request.run == self.start for request in self._queued):
            self._queue(QueuedRequest("start listening", self.start, needs_devices=True))

    @property
    def ready(self) -> bool:
        """Nothing loading, queued or running a job (a live session may be on)."""
        return not self._queued and not self.jobs & (BLOCKING_JOBS | JobState.SCANNING)

    def _queue(self, request: QueuedRequest) -> None:
        self._queued.append(request)
        self.run_queued()
        if self._queued:
            waiting_for = "the model" if JobState.LOADING_MODEL in self.jobs else \
                "the input devices" if JobState.SCANNING in self.jobs else "the current job"
            self.status_session.setText(
                f"Waiting for {waiting_for}, then: {', '.join(r.what for r in self._queued)}…")

    def run_queued(self) -> None:
        """Carry out queued requests, in order, each once the window can (the model's load
        finished, the device list known, no job running)."""
        while self._queued:
            request = self._queued[0]
            if self.busy or (request.needs_devices and JobState.SCANNING in self.jobs):
                return
            self._queued.popleft()
            request.run()

    # ---- live ------------------------------------------------------------------------
    def start(self) -> None:
        """Start listening to the chosen input (or, before the window is ready, as soon as it is)."""
        self.live_controller.start()

    def stop(self) -> None:
        """Stop playback, or finish the live session."""
        self.live_controller.stop()

    def show_live_summary(self, so_far: Timeline) -> None:
        """The summary panel and the segments list for a session still running."""
        found = so_far.segments()
        self.summary_panel.show_summary(so_far.summary(), so_far.duration_s, found, "This session so far")
        self.segments_list.set_segments(found)
        self._size_summary_dock()


    # ---- the frame timer ---------------------------------------------------------------
    def on_frame(self) -> None:
        if JobState.LISTENING in self.jobs:
            self.live_controller.frame()
        if self._queued and not self.busy:
            self.run_queued()
        if self.player.playing:
            self.playback.follow(self.player.position_s)
        elif self.stop_button.isEnabled() and not self.jobs & (BLOCKING_JOBS | SESSION_JOBS):
            self.update_actions()  # playback ran to its end
        self.timeline_view.redraw()

    # ---- recordings --------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a recording", str(self._start_folder(DialogKind.RECORDING)),
                                              AUDIO_FILTER)
        if path:
            self.places.remember_folder(DialogKind.RECORDING, path)
            self.open_path(path)

    def open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a session", str(self._start_folder(DialogKind.SESSION)),
                                              "Moodline sessions (session.json)")
        if path:
            folder = session_folder_of(path)
            self.places.remember_folder(DialogKind.SESSION, folder or path)  # beside this session
            self.open_path(path)

    def _start_folder(self, kind: DialogKind) -> Path:
        """Where a file dialog opens: see :mod:`.places`; the shown recording's folder helps."""
        rec = self.recording
        if rec is None:
            folder = None
        elif rec.folder is not None:
            folder = rec.folder
        else:
            folder = None if rec.source.startswith("input:") else Path(rec.source).parent
        return self.places.start_folder(kind, folder)

    # ---- File ▸ Open Recent ------------------------------------------------------------
    def remember_recent(self, path: str | os.PathLike) -> None:
        self.places.add_recent(path)
        self.fill_recent_menu()

    def fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        recent = self.places.recent()
        for n, path in enumerate(recent, 1):
            what = f"Session {path.name}" if path.is_dir() else path.name
            shown = f"{what}  ({path.parent})".replace("&", "&&")  # a file's '&' is no shortcut
            action = menu.addAction(f"&{n % 10}  {shown}")
            action.setToolTip(str(path))
            action.setData(str(path))
            action.triggered.connect(lambda _=False, p=path: self.open_recent(p))
        if recent:
            menu.addSeparator()
            menu.addAction("&Clear the List", self._clear_recent)
        else:
            menu.addAction("(nothing opened yet)").setEnabled(False)

    def _clear_recent(self) -> None:
        self.places.clear_recent()
        self.fill_recent_menu()

    def open_recent(self, path: Path) -> None:
        """Open a Recent entry; one that has gone since is taken off the list, with a word why."""
        if not path.exists():
            self.places.remove_recent(path)
            self.fill_recent_menu()
            self.show_info(Topic.RECORDING, f"{path.name} is no longer there ({path.parent}); "
                           "it was taken off the Recent list.")
            return
        self.open_path(path)

    def open_path(self, path: str | os.PathLike) -> None:
        """Open an audio file (analysed) or a session (its folder or any file in it)."""
        if JobState.LOADING_MODEL in self.jobs and not self.jobs & SESSION_JOBS:
            self.request_open(path)  # opens once the model is there
            return
        if self.jobs & (SESSION_JOBS | BLOCKING_JOBS):
            self.show_info(Topic.RECORDING, "Stop listening (or wait for the current job) before opening a recording.")
            return
        self.player.stop()
        folder = session_folder_of(path)
        if folder is not None:
            self.jobs |= JobState.OPENING
            self.status_session.setText(f"Opening {folder}…")
            self.update_actions()
            run_task(Task(open_and_prepare, folder), self.tasks,
                     on_done=self.show_recording, on_failed=self._open_failed)
            return
        if self.model is None:
            self.show_error(Topic.MODEL, "No emotion model is loaded, so recordings cannot be analysed.",
                            [("Choose model…", self.choose_model_dialog)])
            return
        self.jobs |= JobState.ANALYSING
        self.progress.setValue(0)
        self.progress_box.show()
        self.status_session.setText(f"Analysing {Path(path).name}…")
        self.banner.clear()
        self.update_actions()
        self._analysis = run_task(
            Task(analyze_and_prepare, str(path), self.model, self.settings.analysis, self.settings.voice), self.tasks,
            on_done=self.show_recording, on_failed=self._open_failed,
            on_progress=self._analysis_progress, on_cancelled=self._analysis_cancelled)

    def _analysis_progress(self, fraction: float) -> None:
        if fraction < 0:
            self.progress.setRange(0, 0)  # length unknown: a busy bar
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(round(1000 * fraction))

    def cancel_analysis(self) -> None:
        if self._analysis is not None:
            self._analysis.cancel()
            self.progress.setFormat("Cancelling…")

    def _analysis_done(self) -> None:
        self.jobs &= ~(JobState.ANALYSING | JobState.OPENING)
        self._analysis = None
        self.progress_box.hide()
        self.progress.setFormat("Analysing… %p%")

    def _analysis_cancelled(self) -> None:
        self._analysis_done()
        self.status_session.setText("Analysis cancelled")
        self.update_actions()

    def _open_failed(self, message: str) -> None:
        self._analysis_done()
        self.status_session.setText("")
        self.show_error(Topic.RECORDING, f"Could not open the recording: {message}")
        self.update_actions()

    def show_recording(self, prepared) -> None:
        """A recording analysed or opened (as :func:`prepare` gives it) on screen."""
        recording, series, envelope = prepared
        self._analysis_done()
        self.recording = recording
        self.playback.new_recording()
        self.timeline_view.show_recording(series, envelope, recording.duration_s)
        self.timeline_view.set_cursor(None)
        self.show_summary(recording.timeline, "Whole recording")
        where = recording.folder or recording.source
        self.status_session.setText(f"{where} · {format_clock(recording.duration_s)} · click the timeline to play")
        self.remember_recent(where)
        self.update_actions()

    def show_summary(self, timeline: Timeline, caption: str) -> None:
        """A whole recording or a finished session: the mix of emotions (never "unsure"), the
        summary panel and the segments list, with the numbers of ``moodline analyze``."""
        summary = timeline.summary()
        found = timeline.segments()
        self.panel.show_summary(summary, caption)
        self.summary_panel.show_summary(summary, timeline.duration_s, found, caption)
        self.segments_list.set_segments(found)
        self._size_summary_dock()

    def _size_summary_dock(self) -> None:
        """Once, when it first has content: the summary as tall as it needs, the segments the rest."""
        if not self._summary_dock_sized and self.summary_dock.isVisible():
            self._summary_dock_sized = True
            title_px = self.summary_dock.fontMetrics().height() + 20
            self.resizeDocks([self.summary_dock], [self.summary_panel.sizeHint().height() + title_px], Qt.Vertical)

    # ---- saving and exporting --------------------------------------------------------
    def current_timeline(self) -> Timeline | None:
        if self.live is not None and self.live.analyzer is not None:
            return self.live.analyzer.snapshot()  # the engine's live timeline, as it stands
        return self.recording.timeline if self.recording is not None else None

    def export(self, path: str | os.PathLike, kind: Export | None = None) -> Path:
        """Write ``kind`` of export to ``path`` (by default the kind its name ends in): the
        timeline (CSV per window, JSON), its segments (CSV), a figure of the whole recording
        (PNG, SVG; whatever the view's zoom) or the audio (WAV)."""
        source = self.recording.source if self.recording else f"input: {self.devices.current_name()}"
        return write_export(path, kind, self.current_timeline(), source, self.figure_content,
                            self.recording)

    def figure_content(self, start_s: float = 0.0, end_s: float | None = None) -> FigureContent:
        """What an exported figure shows: ``start_s`` … ``end_s`` (default: all) of the timeline."""
        rec = self.recording if self.live is None else None
        timeline = self.current_timeline()
        duration_s = rec.duration_s if rec is not None else self.timeline_view.end_s
        if rec is not None:
            name = rec.folder.name if rec.folder is not None else Path(rec.source).name
        else:
            name = f"live session {self.live.folder.name}" if self.live and self.live.folder else "live session"
        model = Path(rec.model).stem if rec is not None and rec.model else \
            (self.model.path.stem if self.model is not None else "")
        return FigureContent(self.timeline_view.series, max(0.0, start_s),
                             duration_s if end_s is None else min(end_s, duration_s), duration_s, name,
                             timeline.summary(), self.palette_, self.unsure_threshold(), model)

    def _export_name(self) -> str:
        rec = self.recording
        return Path(rec.source).stem if rec and "input:" not in rec.source else "moodline-session"

    def export_dialog(self, kind: Export | str) -> None:
        kind = kind if isinstance(kind, Export) else Export.for_path("x" + kind)
        suffix = kind.suffix
        path, _ = QFileDialog.getSaveFileName(self, "Export",
                                              str(self._start_folder(DialogKind.EXPORT) / (self._export_name() + suffix)),
                                              kind.file_filter)
        if not path:
            return
        self.places.remember_folder(DialogKind.EXPORT, path)
        if not path.lower().endswith(suffix):
            path += suffix
        try:
            self.export(path, kind)
            self.status_session.setText(f"Exported {path}")
        except (MoodlineError, OSError) as exc:
            self.show_error(Topic.EXPORT, f"Export failed: {exc}")

    def export_view(self, path: str | os.PathLike) -> Path:
        """A figure (PNG or SVG, by the name's ending) of what the timeline shows now."""
        if self.current_timeline() is None:
            raise MoodlineError("there is no timeline to export yet")
        x0, x1 = self.timeline_view.plot.viewRange()[0]
        return save_figure(path, self.figure_content(x0, x1))

    def export_view_dialog(self) -> None:
        """The timeline's context menu ▸ Export View: a figure of the visible stretch."""
        start = self._start_folder(DialogKind.EXPORT) / (self._export_name() + "-view.png")
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export the view as a figure", str(start),
            f"{Export.FIGURE_PNG.file_filter};;{Export.FIGURE_SVG.file_filter}")
        if not path:
            return
        self.places.remember_folder(DialogKind.EXPORT, path)
        if not path.lower().endswith((".png", ".svg")):
            path += ".svg" if chosen == Export.FIGURE_SVG.file_filter else ".png"
        try:
            self.export_view(path)
            self.status_session.setText(f"Exported {path}")
        except (MoodlineError, OSError) as exc:
            self.show_error(Topic.EXPORT, f"Export failed: {exc}")

    def save_session(self, folder: str | os.PathLike) -> Path:
        """Save the shown recording as a session folder that reopens with audio and timeline."""
        if self.recording is None:
            raise MoodlineError("there is no recording to save")
        folder = Path(folder)
        if self.recording.folder is not None:
            return save_session_copy(self.recording.folder, folder)
        return save_as_session(self.recording, folder, self.settings.to_record())

    def save_session_dialog(self) -> None:
        start = self._start_folder(DialogKind.SAVE_SESSION) / "moodline-session"
        path, _ = QFileDialog.getSaveFileName(self, "Save session as (a new folder)", str(start))
        if path:
            self.places.remember_folder(DialogKind.SAVE_SESSION, path)
            try:
                folder = self.save_session(path)
            except (MoodlineError, OSError) as exc:
                self.show_error(Topic.EXPORT, f"Saving failed: {exc}")
                return
            self.status_session.setText(f"Session saved in {folder}")
            self.remember_recent(folder)

    # ---- settings --------------------------------------------------------------------
    def settings_dialog(self) -> None:
        can_enrol = self.model is not None and self.live is None
        dialog = SettingsDialog(self.settings, self, self.places.start_folder(DialogKind.MODEL),
                                self.model.info.unsure_threshold if self.model is not None else None,
                                self.enrol_voice if can_enrol else None)
        if dialog.exec_():
            self.apply_settings(dialog.settings())

    def enrol_voice(self) -> str | None:
        """Record a voice to enrol from the chosen input; its name, or None if none was kept."""
        dialog = EnrolVoiceDialog(self.model, self.source_factory, self.devices.current_name(), self)
        dialog.exec_()
        return dialog.enrolled

    def apply_settings(self, new: DesktopSettings) -> None:
        old, self.settings = self.settings, new
        save_settings(self.store, new)
        if new.high_contrast != old.high_contrast:
            self.palette_ = new.colour_palette()
            self.panel.set_palette(self.palette_)
            self.timeline_view.set_palette(self.palette_)
            self.summary_panel.set_palette(self.palette_)
            self.segments_list.set_palette(self.palette_)
            if self.aid is not None:
                self.aid.set_palette(self.palette_)
        self.timeline_view.follow_minutes = new.follow_minutes
        self.timeline_view.set_voice_rows(new.voice_rows)
        self._show_unsure_threshold()
        if self.aid is not None:
            self.aid.set_display(new.aid_display)
        if new.model_path != old.model_path:
            self.model_path_override = None
            if not self.jobs & (JobState.STARTING | JobState.FINISHING | JobState.ANALYSING | JobState.OPENING):
                self.reload_model()
        if self.live is not None and (new.analysis != old.analysis or new.voice != old.voice):
            self.show_info(Topic.SETTINGS, "The new analysis settings apply from the next Start.")

    def _voice_rows_chosen(self, on: bool) -> None:
        """View ▸ One Row per Voice: kept as a setting, as Settings ▸ Timeline."""
        if on != self.settings.voice_rows:
            self.settings = replace(self.settings, voice_rows=on)
            save_settings(self.store, self.settings)

    # ---- conversation aid ------------------------------------------------------------
    def toggle_aid(self) -> None:
        if self.aid is not None:
            self.aid.close()
            return
        self.aid = ConversationAidView(self.palette_, self.settings.stabilizer(self.unsure_threshold()),
                                       self.settings.aid_display)
        self.aid.left.connect(self._aid_left)
        self.aid.enter(self.screen())

    def _aid_left(self) -> None:
        self.aid = None
        self.activateWindow()

    # ---- drag and drop, closing --------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if any(url.isLocalFile() for url in urls):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
                event.acceptProposedAction()
                return

    def closeEvent(self, event) -> None:
        if self.jobs & (JobState.STARTING | JobState.FINISHING):
            # A session is being opened or finished on a worker thread: closing now could end
            # the process halfway through its files. Close when it is done.
            self.close_when_idle = True
            self.status_session.setText("Finishing the session before quitting…")
            event.ignore()
            return
        if self._closing:  # a second Ctrl-C or SIGTERM while the session's files are finished
            event.ignore()
            return
        self._closing = True
        self._queued.clear()
        self.player.stop()
        if self._analysis is not None:
            self._analysis.cancel()
        if self.live is not None:
            # Quitting (also on SIGTERM/SIGHUP/Ctrl-C): finishing the files matters more than a stall.
            try:
                self.recording = self.live.stop()
                self.status_session.setText(f"Session saved in {self.recording.folder}")
            except Exception as exc:  # what reached the disk stays readable
                self.show_error(Topic.SESSION, f"The session could not be finished: {exc}")
            self.live = None
            self.jobs &= ~JobState.LISTENING
        self.closing.emit()
        if self.aid is not None:
            self.aid.close()
        self.store.setValue("window/geometry", self.saveGeometry())
        self.store.sync()
        super().closeEvent(event)
