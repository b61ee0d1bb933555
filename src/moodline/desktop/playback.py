"""Playing a recording back in the window: from a click on the timeline, a segment chosen in the
list, Space to pause and go on, previous/next segment; the playhead, the segments list, the
emotion panel and the aid follow what is heard.

The sound itself is :class:`~.player.AudioPlayer`'s; this controller decides what plays and
keeps the views at the playhead. Live, nothing plays: a chosen segment is only shown.
"""
from __future__ import annotations

from moodline.engine.errors import MoodlineError
from moodline.engine.timeline import format_clock

from .player import AudioPlayer
from .widgets.banner import Topic


class PlaybackController:
    """The window's playback; ``window`` gives the recording, the views and the messages."""

    def __init__(self, window) -> None:
        self.window = window
        self.player = AudioPlayer()
        self._played_index = -1  # the point the panel shows, so it changes only when that does

    def new_recording(self) -> None:
        """A new recording is on screen: the panel follows it afresh."""
        self._played_index = -1

    def _playable(self):
        w = self.window
        rec = w.recording
        return rec if rec is not None and rec.audio is not None and w.live is None else None

    def play_from(self, t_s: float) -> None:
        rec = self._playable()
        if rec is None:
            return
        t_s = min(t_s, rec.duration_s)
        self.window.timeline_view.set_cursor(t_s)
        try:
            self.player.play(rec.audio, rec.sample_rate_hz, t_s)
        except MoodlineError as exc:
            self.window.show_error(Topic.PLAYBACK, str(exc))
        self.follow(t_s)
        self.window.update_actions()

    def toggle(self) -> None:
        """Space: pause where it plays, go on from there, or play from the cursor."""
        rec = self._playable()
        if rec is None:
            return
        try:
            if self.player.playing:
                self.player.pause()
                self.follow(self.player.position_s)
            elif self.player.paused:
                self.player.resume()
            else:
                cursor = self.window.timeline_view.cursor_s
                self.play_from(0.0 if cursor is None or cursor >= rec.duration_s - 0.1 else cursor)
        except MoodlineError as exc:
            self.window.show_error(Topic.PLAYBACK, str(exc))
        self.window.update_actions()

    def play_segment(self, t_s: float) -> None:
        """A segment chosen in the list or the summary: play from its start. Live, or without
        audio, the timeline shows it instead."""
        if self._playable() is not None:
            self.play_from(t_s)
            return
        w = self.window
        w.timeline_view.reveal(t_s)
        if w.live is None and w.recording is not None:
            self.follow(t_s)

    def jump_to(self, t_s: float) -> None:
        """Move the playhead to ``t_s`` (previous/next segment); playing goes on from there."""
        w = self.window
        if w.recording is None or w.live is not None:
            return
        if self.player.playing or self.player.paused:
            self.player.seek(t_s)
        self.follow(t_s)

    def follow(self, t_s: float) -> None:
        """The views at ``t_s``: playhead, current segment, and the panel and aid saying the
        emotion heard there."""
        w = self.window
        w.timeline_view.set_playhead(t_s)
        w.segments_list.set_current(t_s)
        series = w.timeline_view.series
        index = series.index_at(t_s)
        if index != self._played_index:
            self._played_index = index
            point = series.points[index] if index >= 0 else None
            w.panel.show_point(point, w.unsure_threshold(), w.settings.aid.shown_voices, f"At {format_clock(t_s)}")
            if w.aid is not None and point is not None:
                w.aid.feed(point)
