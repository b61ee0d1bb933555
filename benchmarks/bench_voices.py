"""Whose voice it is: "me / other" window error and the partner's emotion with an enrolled voice.

    .venv/bin/python benchmarks/bench_voices.py [--quick] [--seed 0] [--dev N] [--test N]

Two-person conversations are built from corpus speakers in ../shared/data (never copied into
the repository): turns of 2–10 s (one speaker's clips, each trimmed of its silent edges and
joined with 0.1–0.3 s pauses), alternating speakers, 0.2–0.6 s between turns and, for about one
turn in seven, none (the turn is cut instead), each turn with its pause after it rounded to the
0.5 s hop; about 60–120 s each, over a quiet room's noise floor. "Me" speaks about 6 dB louder
than the partner (nearer the microphone). "Me" is enrolled as ``moodline calibrate --voice``
does (the engine's ``enrolment_from``) from 20–30 s of that speaker's *other* clips, ordinary
ones first (RAVDESS neutral and calm, TESS and nEMO neutral), never one heard in the
conversation. Each conversation is also heard in a café: 3–8 voices of speechocean762 speakers
used nowhere else (its last 28 speaker folders, as training's ``babble_10db`` condition) over
pink noise, at 10 dB SNR against the conversation's speech level; the enrolment stays quiet.

Speakers: *development* — nEMO's nine actors and TESS's two speakers as "me", partners from
them and from speechocean762's first 100 speakers; *test* — RAVDESS actors 01–20 (odd male,
even female), each "me" once with a partner of the same gender and once of the other. The
thresholds (``ME_AT``: "me" at and above, ``OTHER_BELOW``: "other" below, "unknown" between)
are chosen on the development conversations alone; the test speakers are only reported on.

Ground truth for a speech window (the engine's own windows and voice gate): the speaker who
talks for most of the window's voiced time, if that is at least 75% of it; windows more
evenly shared are "mixed" and counted apart (windows with under 0.3 s of either voice too).
Error = "me" called "other" or "other" called "me", over all such windows; windows called
"unknown" (or with too little voice to embed) are the share left undecided.

Partner agreement (test speakers, quiet): each conversation analysed as ``moodline analyze``
does with "me" enrolled, and without, against the partner's turns alone (the same audio, with
the same pauses, without "me" between them), compared window by window on the partner's
windows that lie wholly inside one of the partner's turns (and its pause): the timeline's label
and what the aid's LabelStabilizer shows (default settings, which show only "other" when a
voice is enrolled). The same with adaptation off in both says what the emotion model's stream
(its cache runs on through a stretch of speech, across a change of voice) changes by itself.
Last, the encoder's own equal error rate on whole clips, for scale.
"""
from __future__ import annotations

import argparse
import csv
import math
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from moodline.engine.analysis import AnalysisSettings, analyze_file, new_slicer
from moodline.engine.audio import audio_blocks, load_audio
from moodline.engine.model import EmotionModel, default_model_path
from moodline.engine.readout import DEFAULT_UNSURE_THRESHOLD, LabelStabilizer, StabilizerSettings
from moodline.engine.speakers import ME_AT, OTHER_BELOW, Enrolment, VoiceSeparation, shipped_encoder
from moodline.engine.voices import enrolment_from
from moodline.training.augment import BabbleBank, active_power
from moodline.training.conditions import cafe

from bench_aid_calm import trimmed  # a clip without its silent edges
from figures import recorded  # the figures also go to docs/benchmark-figures.md

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RATE = 16000
HOP_S = 0.5  # the engine's default hop: turns and pauses are whole hops so partner windows align
TURN_S = (2.0, 10.0)
TURN_GAP_S = (0.2, 0.6)
NO_GAP_SHARE = 0.15  # turns followed at once by the other voice
CLIP_GAP_S = (0.1, 0.3)  # between one speaker's clips within a turn
CONVERSATION_S = (60.0, 120.0)
QUICK_CONVERSATION_S = (40.0, 60.0)
ENROL_S = (20.0, 30.0)
ENROL_PAUSE_S = (0.3, 0.6)
NOISE_FLOOR_DBFS = -60.0
ME_DBFS, PARTNER_DBFS = -23.0, -29.0  # speech level: "me" nearer the microphone
LEVEL_SPREAD_DB = 2.0
DOMINANT = 0.75  # a window is one voice's when that voice has this share of its voiced time
MIN_VOICED_S = 0.3
SNR_DB = 10.0
DEV_ERROR_BUDGET = 0.025  # thresholds keep the development error (quiet and café each) under this
SWEEP = np.round(np.arange(0.30, 0.9501, 0.0025), 4)
SPEECHOCEAN_PARTNERS = 100  # speechocean762's first 100 speakers may be partners; the rest make babble
RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
                    "06": "fearful", "07": "disgust", "08": "surprised"}


def log(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


@dataclass
class Speaker:
    corpus: str
    name: str
    gender: str  # "m" / "f"
    ordinary: list[Path]  # neutral (and calm) clips: enrolment material first
    other: list[Path]

    @property
    def key(self) -> str:
        return f"{self.corpus}:{self.name}"


def ravdess_speakers() -> list[Speaker]:
    out = []
    for actor in sorted((DATA / "ravdess").glob("Actor_*")):
        files = sorted(actor.glob("*.flac"))
        ordinary = [f for f in files if RAVDESS_EMOTIONS[f.stem.split("-")[2]] in ("neutral", "calm")]
        number = int(actor.name.split("_")[1])
        out.append(Speaker("ravdess", actor.name, "m" if number % 2 else "f", ordinary,
                           [f for f in files if f not in ordinary]))
    return out


def tess_speakers() -> list[Speaker]:
    out = []
    for name in ("OAF", "YAF"):
        files = sorted(f for d in (DATA / "tess").glob(f"{name}_*") for f in d.glob("*.flac"))
        ordinary = [f for f in files if f.stem.split("_")[-1].lower() == "neutral"]
        out.append(Speaker("tess", name, "f", ordinary, [f for f in files if f not in ordinary]))
    return out


def nemo_speakers() -> list[Speaker]:
    genders: dict[str, str] = {}
    with open(DATA / "nemo" / "data.tsv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            genders[row["speaker_id"].strip()] = row["gender"].strip()[0].lower()
    out = []
    for name in sorted(genders):
        files = sorted((DATA / "nemo" / "samples").glob(f"{name}_*.ogg"))
        ordinary = [f for f in files if f.stem.split("_")[1] == "neutral"]
        out.append(Speaker("nemo", name, genders[name], ordinary, [f for f in files if f not in ordinary]))
    return out


def speechocean_partners() -> list[Speaker]:
    root = DATA / "speechocean762"
    genders = dict(line.split() for line in (root / "spk2gender").read_text().splitlines() if line.strip())
    folders = sorted(p for p in (root / "WAVE").iterdir() if p.is_dir())[:SPEECHOCEAN_PARTNERS]
    return [Speaker("speechocean762", f.name, genders[f.name.removeprefix("SPEAKER")], [], sorted(f.glob("*.ogg")))
            for f in folders]


_CLIPS: dict[Path, np.ndarray] = {}


def clip(path: Path) -> np.ndarray:
    if path not in _CLIPS:
        _CLIPS[path] = trimmed(load_audio(path, RATE)).astype(np.float32)
    return _CLIPS[path]


@dataclass
class Conversation:
    name: str
    kind: str  # "same-gender" / "cross-gender"
    me: Speaker
    partner: Speaker
    audio: np.ndarray
    alone: np.ndarray  # the partner's segments (turn + pause after it) joined
    voiced: list[tuple[float, float, str]]  # (start_s, end_s, "me" | "other") of every clip in `audio`
    segments: list[tuple[float, float, float]]  # partner segments: (start in audio, start in alone, length) s
    enrol: np.ndarray
    babble: np.ndarray | None = None


def floor(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0, 10 ** (NOISE_FLOOR_DBFS / 20), n).astype(np.float32)


def speaker_gain(paths: list[Path], dbfs: float) -> float:
    power = np.median([active_power(clip(p)) for p in paths])
    return 10 ** (dbfs / 20) / math.sqrt(power)


def build(name: str, kind: str, me: Speaker, partner: Speaker, seed: int, length_s: tuple[float, float]) -> Conversation:
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    # Enrolment: ordinary clips first, then others, until 20-30 s of audio.
    ordinary, others = me.ordinary[:], me.other[:]
    rng.shuffle(ordinary)
    rng.shuffle(others)
    wanted = rng.uniform(*ENROL_S)
    enrol_paths, have = [], 0.0
    for p in ordinary + others:
        if have >= wanted:
            break
        enrol_paths.append(p)
        have += len(clip(p)) / RATE + sum(ENROL_PAUSE_S) / 2
    used = set(enrol_paths)
    pools = {"me": [p for p in ordinary + others if p not in used], "other": partner.ordinary + partner.other}
    rng.shuffle(pools["me"])
    rng.shuffle(pools["other"])
    target = rng.uniform(*length_s)
    gains = {"me": speaker_gain(pools["me"][:30], ME_DBFS + rng.uniform(-LEVEL_SPREAD_DB, LEVEL_SPREAD_DB)),
             "other": speaker_gain(pools["other"][:30], PARTNER_DBFS + rng.uniform(-LEVEL_SPREAD_DB, LEVEL_SPREAD_DB))}

    def scaled(p: Path, who: str) -> np.ndarray:
        a = clip(p) * gains[who]
        peak = float(np.max(np.abs(a))) if len(a) else 0.0
        return a * (0.9 / peak) if peak > 0.9 else a

    parts = []
    for p in enrol_paths:
        a = scaled(p, "me")
        pause = np.zeros(int(rng.uniform(*ENROL_PAUSE_S) * RATE), np.float32)
        parts += [a, pause]
    enrol = np.concatenate(parts)[: int(ENROL_S[1] * RATE)]
    enrol = enrol + floor(len(enrol), nrng)

    audio_parts, alone_parts, voiced, segments = [], [], [], []
    t_audio = t_alone = 0.0
    who = rng.choice(["me", "other"])
    cursor = {"me": 0, "other": 0}
    while t_audio < target:
        pool = pools[who]
        if cursor[who] >= len(pool):
            break  # this speaker has no unheard clip left: the conversation ends here
        turn_s = rng.uniform(*TURN_S)
        content = np.zeros(0, np.float32)
        spans = []
        while len(content) / RATE < turn_s and cursor[who] < len(pool):
            if len(content):
                content = np.concatenate((content, np.zeros(int(rng.uniform(*CLIP_GAP_S) * RATE), np.float32)))
            a = scaled(pool[cursor[who]], who)
            cursor[who] += 1
            spans.append((len(content), len(content) + len(a)))
            content = np.concatenate((content, a))
        content = content[: int(TURN_S[1] * RATE)]
        c = len(content) / RATE
        gap = 0.0 if rng.random() < NO_GAP_SHARE else rng.uniform(*TURN_GAP_S)
        seg_s = max(HOP_S, round((c + gap) / HOP_S) * HOP_S) if gap else max(HOP_S, math.floor(c / HOP_S) * HOP_S)
        keep = int(round(min(c, seg_s - gap) * RATE))
        seg_n = int(round(seg_s * RATE))
        segment = np.zeros(seg_n, np.float32)
        segment[:keep] = content[:keep]
        segment += floor(seg_n, nrng)
        for a, b in spans:
            if a < keep:
                voiced.append((t_audio + a / RATE, t_audio + min(b, keep) / RATE, who))
        audio_parts.append(segment)
        if who == "other":
            alone_parts.append(segment)
            segments.append((t_audio, t_alone, seg_s))
            t_alone += seg_s
        t_audio += seg_s
        who = "other" if who == "me" else "me"
    audio = np.concatenate(audio_parts)
    alone = np.concatenate(alone_parts)
    return Conversation(name, kind, me, partner, audio, alone, voiced, segments, enrol.astype(np.float32))


def add_babble(conversations: list[Conversation], bank: BabbleBank, seed: int) -> None:
    for i, conv in enumerate(conversations):
        conv.babble = cafe(conv.audio, np.random.default_rng([seed, 7, i]), bank, SNR_DB)


def test_conversations(n: int, seed: int, length_s) -> list[Conversation]:
    """RAVDESS actors as "me" in turn, first with a partner of the same gender, then of the other."""
    actors = ravdess_speakers()
    rng = random.Random(seed)
    out = []
    for i in range(n):
        me = actors[i % len(actors)]
        same = (i // len(actors)) % 2 == 0
        choices = [a for a in actors if a is not me and (a.gender == me.gender) == same]
        partner = rng.choice(choices)
        out.append(build(f"test{i:02d}", "same-gender" if same else "cross-gender", me, partner,
                         seed * 1000 + i, length_s))
    return out


def dev_conversations(n: int, seed: int, length_s) -> list[Conversation]:
    """nEMO and TESS speakers as "me"; partners of the same gender, of the other, or speechocean762's."""
    mes = nemo_speakers() + tess_speakers()
    ocean = speechocean_partners()
    rng = random.Random(seed + 1)
    out = []
    for i in range(n):
        me = mes[i % len(mes)]
        which = (i // len(mes)) % 3
        if which == 2:
            partner = rng.choice(ocean)
        else:
            partner = rng.choice([s for s in mes if s is not me and (s.gender == me.gender) == (which == 0)])
        kind = "same-gender" if partner.gender == me.gender else "cross-gender"
        out.append(build(f"dev{i:02d}", kind, me, partner, seed * 1000 + 500 + i, length_s))
    return out


@dataclass
class Scored:
    """Speech windows of one conversation in one condition."""

    similarity: np.ndarray  # NaN: too little voice to embed
    truth: np.ndarray  # "me", "other", "mixed", "none"
    kind: str
    condition: str


def truth_of(windows, voiced, window_s: float) -> np.ndarray:
    out = []
    for w in windows:
        start, end = w.start_s, w.start_s + window_s
        share = {"me": 0.0, "other": 0.0}
        for a, b, who in voiced:
            share[who] += max(0.0, min(b, end) - max(a, start))
        total = share["me"] + share["other"]
        if total < MIN_VOICED_S:
            out.append("none")
        elif share["me"] >= DOMINANT * total:
            out.append("me")
        elif share["other"] >= DOMINANT * total:
            out.append("other")
        else:
            out.append("mixed")
    return np.array(out)


def speech_windows(path: Path, model: EmotionModel, settings: AnalysisSettings):
    slicer = new_slicer(model, settings, keep_audio=True)
    windows = []
    for block in audio_blocks(path, RATE):
        windows += slicer.push(block)
    windows += slicer.flush()
    return [w for w in windows if w.speech_fraction >= settings.min_speech_fraction]


def write(path: Path, audio: np.ndarray) -> Path:
    sf.write(path, np.clip(audio, -1.0, 1.0), RATE, subtype="FLOAT")
    return path


def score(conversations, model, settings, scratch: Path, label: str):
    """Enrol each "me", embed every speech window of the conversation, quiet and in the café."""
    encoder = shipped_encoder()
    window_s = settings.window_s or model.info.window_s
    scored, enrolments = [], {}
    started = time.monotonic()
    for i, conv in enumerate(conversations):
        enrol_path = write(scratch / f"{conv.name}-enrol.wav", conv.enrol)
        enrolment, heard = enrolment_from(conv.me.name, enrol_path, model, settings)
        enrolments[conv.name] = enrolment
        for condition, audio in (("quiet", conv.audio), ("café", conv.babble)):
            path = write(scratch / f"{conv.name}-{condition}.wav", audio)
            windows = speech_windows(path, model, settings)
            similarity = enrolment.separation.similarity(encoder.embed_windows([w.samples for w in windows]))
            scored.append(Scored(similarity, truth_of(windows, conv.voiced, window_s), conv.kind, condition))
        log(f"  {label} {i + 1}/{len(conversations)} {conv.name}: me {conv.me.key} partner {conv.partner.key} "
            f"({conv.kind}), {len(conv.audio) / RATE:.0f} s, enrolment {len(conv.enrol) / RATE:.0f} s "
            f"({heard} speech windows); {time.monotonic() - started:.0f} s")
    return scored, enrolments


def pooled(scored, kind=None, condition=None):
    sims, truths = [], []
    for s in scored:
        if (kind is None or s.kind == kind) and (condition is None or s.condition == condition):
            sims.append(s.similarity)
            truths.append(s.truth)
    return (np.concatenate(sims), np.concatenate(truths)) if sims else (np.zeros(0), np.zeros(0, str))


def rates(sim, truth, me_at, other_below) -> dict:
    labelled = (truth == "me") | (truth == "other")
    s, t = sim[labelled], truth[labelled]
    n = len(s)
    with np.errstate(invalid="ignore"):
        said_me, said_other = s >= me_at, s < other_below
    wrong = ((t == "me") & said_other) | ((t == "other") & said_me)
    undecided = ~(said_me | said_other)
    nme, noth = max(1, int(np.sum(t == "me"))), max(1, int(np.sum(t == "other")))
    return {"n": n, "error": wrong.sum() / max(1, n), "undecided": undecided.sum() / max(1, n),
            "me_as_other": ((t == "me") & said_other).sum() / nme, "other_as_me": ((t == "other") & said_me).sum() / noth,
            "me_unknown": ((t == "me") & undecided).sum() / nme, "other_unknown": ((t == "other") & undecided).sum() / noth,
            "error_decided": wrong.sum() / max(1, (~undecided).sum()), "nan": float(np.isnan(s).mean()) if n else 0.0}


def eer(sim, truth) -> tuple[float, float]:
    """Equal error rate of the similarity (me positive, other negative) and its threshold."""
    ok = ~np.isnan(sim)
    pos, neg = np.sort(sim[ok & (truth == "me")]), np.sort(sim[ok & (truth == "other")])
    if not len(pos) or not len(neg):
        return float("nan"), float("nan")
    grid = np.unique(np.concatenate((pos, neg)))
    frr = np.searchsorted(pos, grid, side="left") / len(pos)  # me below t
    far = 1 - np.searchsorted(neg, grid, side="left") / len(neg)  # other at or above t
    i = int(np.argmin(np.abs(frr - far)))
    return float((frr[i] + far[i]) / 2), float(grid[i])


def sweep_counts(sim, truth):
    """For every threshold of SWEEP: labelled windows, me below it, other at or above it, all below it."""
    labelled = (truth == "me") | (truth == "other")
    s, t = sim[labelled], truth[labelled]
    ok = ~np.isnan(s)
    me, other, every = np.sort(s[ok & (t == "me")]), np.sort(s[ok & (t == "other")]), np.sort(s[ok])
    return (len(s), np.searchsorted(me, SWEEP, side="left"), len(other) - np.searchsorted(other, SWEEP, side="left"),
            np.searchsorted(every, SWEEP, side="left"), len(every))


def choose(scored, budget: float = DEV_ERROR_BUDGET) -> tuple[float, float, str]:
    """ME_AT and OTHER_BELOW on development conversations: the fewest undecided windows (pooled)
    while the error stays within ``budget`` in the quiet and in the café each."""
    tables = {c: sweep_counts(*pooled(scored, condition=c)) for c in ("quiet", "café")}
    # rows: OTHER_BELOW, columns: ME_AT
    ia, ib = np.meshgrid(np.arange(len(SWEEP)), np.arange(len(SWEEP)), indexing="ij")
    valid = SWEEP[ia] <= SWEEP[ib]
    errors, undecided, total = [], 0, 0
    for n, me_below, other_above, below, finite in tables.values():
        err = (me_below[ia] + other_above[ib]) / n
        errors.append(err)
        undecided = undecided + (n - below[ia] - (finite - below[ib]))  # between the two, and NaN
        total += n
    worst = np.maximum(*errors)
    und = undecided / total
    feasible = valid & (worst <= budget)
    if feasible.any():
        cost = np.where(feasible, und + 1e-3 * worst, np.inf)
        rule = f"fewest undecided with the error at most {100 * budget:g}% in the quiet and in the café"
    else:
        cost = np.where(valid, worst + 0.25 * und, np.inf)
        rule = (f"no pair kept the error within {100 * budget:g}%: the least worst-condition error "
                "+ a quarter of the undecided share")
    i, j = np.unravel_index(int(np.argmin(cost)), cost.shape)
    return float(SWEEP[j]), float(SWEEP[i]), rule


def table(scored, me_at, other_below, title: str) -> None:
    print(f"\n{title} (me at >= {me_at:.4g}, other below {other_below:.4g}; EER/conv: the median of each "
          "conversation's own EER):")
    print(f"  {'':<24} {'windows':>7} {'error':>6} {'undecided':>9} {'me->oth':>8} {'oth->me':>8} "
          f"{'err|decided':>11} {'EER':>6} {'at':>6} {'EER/conv':>8}")
    rows = [("all", None, None), ("quiet", None, "quiet"), ("café 10 dB", None, "café"),
            ("same-gender", "same-gender", None), ("same-gender quiet", "same-gender", "quiet"),
            ("same-gender café", "same-gender", "café"), ("cross-gender", "cross-gender", None),
            ("cross-gender café", "cross-gender", "café")]
    for name, kind, condition in rows:
        sim, truth = pooled(scored, kind, condition)
        r = rates(sim, truth, me_at, other_below)
        if not r["n"]:
            continue
        e, at = eer(sim, truth)
        each = [eer(s.similarity, s.truth)[0] for s in scored
                if (kind is None or s.kind == kind) and (condition is None or s.condition == condition)]
        print(f"  {name:<24} {r['n']:>7} {100 * r['error']:5.1f}% {100 * r['undecided']:8.1f}% "
              f"{100 * r['me_as_other']:7.1f}% {100 * r['other_as_me']:7.1f}% {100 * r['error_decided']:10.1f}% "
              f"{100 * e:5.1f}% {at:6.3f} {100 * np.nanmedian(each):7.1f}%")
    sim, truth = pooled(scored)
    for kind in ("mixed", "none"):
        s = sim[truth == kind]
        if len(s):
            with np.errstate(invalid="ignore"):
                me, oth = np.mean(s >= me_at), np.mean(s < other_below)
            print(f"  windows '{kind}' (not scored): {len(s)}: called me {100 * me:.0f}%, other {100 * oth:.0f}%, "
                  f"unknown {100 * (1 - me - oth):.0f}%")
    ok = ~np.isnan(sim)
    for who in ("me", "other"):
        s = sim[ok & (truth == who)]
        if len(s):
            print(f"  similarity of '{who}' windows: percentiles 1/5/50/95/99: "
                  + " ".join(f"{v:.3f}" for v in np.percentile(s, [1, 5, 50, 95, 99])))


def trade_off(dev_scored, test_scored) -> None:
    """What other development error budgets would have chosen, and given on the test speakers
    (for information: the thresholds above are the ones the stated rule chose)."""
    print("\nthe trade-off: thresholds the same rule picks on the development speakers for other error budgets")
    print(f"  {'budget':>6} {'ME_AT':>6} {'OTHER_BELOW':>11} {'dev error':>9} {'dev undecided':>13} "
          f"{'test error':>10} {'test undecided':>14} {'same-gender':>11} {'café':>6}")
    for budget in (0.01, 0.025, 0.05, 0.10, 0.20):
        me_at, other_below, _ = choose(dev_scored, budget)
        d = rates(*pooled(dev_scored), me_at, other_below)
        t = rates(*pooled(test_scored), me_at, other_below)
        sg = rates(*pooled(test_scored, kind="same-gender"), me_at, other_below)
        cafe_ = rates(*pooled(test_scored, condition="café"), me_at, other_below)
        print(f"  {100 * budget:5.1f}% {me_at:6.4f} {other_below:11.4f} {100 * d['error']:8.1f}% {100 * d['undecided']:12.1f}% "
              f"{100 * t['error']:9.1f}% {100 * t['undecided']:13.1f}% {100 * sg['error']:10.1f}% {100 * cafe_['error']:5.1f}%")


def agreement(conversations, enrolments, model, settings, scratch: Path, me_at, other_below) -> None:
    """Partner windows: with "me" enrolled, and without, against the partner alone."""
    unsure = model.info.unsure_threshold or DEFAULT_UNSURE_THRESHOLD
    stab = StabilizerSettings(unsure_threshold=unsure)
    window_s = settings.window_s or model.info.window_s
    counts = Counter()
    voices = Counter()
    started = time.monotonic()

    def shown(points):
        s = LabelStabilizer(stab)
        return [s.update(p).word for p in points]

    for i, conv in enumerate(conversations):
        base = enrolments[conv.name]
        enrolment = Enrolment(base.name, VoiceSeparation(base.separation.reference, me_at, other_below), base.baseline)
        path = scratch / f"{conv.name}-quiet.wav"
        alone = write(scratch / f"{conv.name}-alone.wav", conv.alone)
        with_me = analyze_file(path, model, settings, enrolment=enrolment).points
        without = analyze_file(path, model, settings).points
        reference = analyze_file(alone, model, settings).points
        # No baselines at all: what the model's stream (its cache runs on through a stretch of
        # speech, across a change of voice) changes by itself.
        plain = analyze_file(path, model, replace(settings, adapt=False)).points
        plain_alone = analyze_file(alone, model, replace(settings, adapt=False)).points
        aid = {"enrolled": shown(with_me), "shared": shown(without), "alone": shown(reference)}
        for start, alone_start, length in conv.segments:
            shift = round((start - alone_start) / HOP_S)
            k0 = math.ceil(start / HOP_S - 1e-6)
            for k in range(k0, len(with_me)):
                if k * HOP_S + window_s > start + length + 1e-6:
                    break
                j = k - shift
                if j >= len(reference) or not reference[j].is_speech:
                    continue
                counts["windows"] += 1
                voice = with_me[k].voice or "no speech"
                voices[voice] += 1
                counts["label enrolled"] += with_me[k].label == reference[j].label
                counts[f"label enrolled {voice}"] += with_me[k].label == reference[j].label
                counts[f"aid enrolled {voice}"] += aid["enrolled"][k] == aid["alone"][j]
                counts["label shared"] += without[k].label == reference[j].label
                counts["aid enrolled"] += aid["enrolled"][k] == aid["alone"][j]
                counts["aid shared"] += aid["shared"][k] == aid["alone"][j]
                counts["label unadapted"] += plain[k].label == plain_alone[j].label
        log(f"  agreement {i + 1}/{len(conversations)} {conv.name}: {counts['windows']} partner windows so far; "
            f"{time.monotonic() - started:.0f} s")
    n = max(1, counts["windows"])
    print(f"\npartner agreement (test speakers, quiet; me at >= {me_at:.4g}, other below {other_below:.4g}): "
          f"{counts['windows']} partner windows wholly inside the partner's turns, against the partner alone")
    print("  those windows were called: " + ", ".join(f"{v} {100 * c / n:.1f}%" for v, c in voices.most_common()))
    for v, c in voices.most_common():
        print(f"    called {v}: window label agrees {100 * counts[f'label enrolled {v}'] / c:5.1f}%, "
              f"the aid {100 * counts[f'aid enrolled {v}'] / c:5.1f}%")
    print(f"  window label      with 'me' enrolled: {100 * counts['label enrolled'] / n:5.1f}%   "
          f"without (one shared baseline): {100 * counts['label shared'] / n:5.1f}%   (target: at least 90% enrolled)")
    print(f"  window label with adaptation off in both (no baselines; the model's stream context alone): "
          f"{100 * counts['label unadapted'] / n:5.1f}%")
    print(f"  the aid's readout with 'me' enrolled: {100 * counts['aid enrolled'] / n:5.1f}%   "
          f"without (one shared baseline): {100 * counts['aid shared'] / n:5.1f}%")


def whole_clips(speakers: list[Speaker], per_speaker: int) -> tuple[float, float]:
    """The encoder's EER on whole clips (Resemblyzer's own way, ``embed_recording``): each
    speaker's reference from up to 12 of their ordinary clips, trials their other clips against
    every speaker (all impostors, and same-gender impostors only)."""
    encoder = shipped_encoder()
    refs, embs = [], []
    for s in speakers:
        refs.append(encoder.embed_recording(np.concatenate([clip(p) for p in s.ordinary[:12]])))
        others = s.other[:: max(1, len(s.other) // per_speaker)][:per_speaker]
        embs.append(np.array([encoder.embed_recording(clip(p)) for p in others]))
    out = []
    for same_gender in (False, True):
        pos, neg = [], []
        for i, ref in enumerate(refs):
            for j, e in enumerate(embs):
                if i == j:
                    pos.extend(e @ ref)
                elif not same_gender or speakers[i].gender == speakers[j].gender:
                    neg.extend(e @ ref)
        out.append(eer(np.array(pos + neg), np.array(["me"] * len(pos) + ["other"] * len(neg)))[0])
    return out[0], out[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="8 development and 8 test conversations of 40-60 s")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dev", type=int, default=None, help="development conversations (default 33; quick 8)")
    p.add_argument("--test", type=int, default=None, help="test conversations (default 40; quick 8)")
    args = p.parse_args()
    started = time.monotonic()
    n_dev = args.dev if args.dev is not None else (8 if args.quick else 33)
    n_test = args.test if args.test is not None else (8 if args.quick else 40)
    length_s = QUICK_CONVERSATION_S if args.quick else CONVERSATION_S
    model = EmotionModel(default_model_path(), threads=1)
    settings = AnalysisSettings()
    log("building conversations…")
    dev = dev_conversations(n_dev, args.seed, length_s)
    test = test_conversations(n_test, args.seed, length_s)
    bank = BabbleBank(str(DATA / "speechocean762"), RATE, unheard=True)
    add_babble(dev + test, bank, args.seed)
    for name, convs in (("development", dev), ("test", test)):
        speakers = {c.me.key for c in convs} | {c.partner.key for c in convs}
        kinds = Counter(c.kind for c in convs)
        print(f"{name}: {len(convs)} conversations ({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}), "
              f"{len(speakers)} speakers ({', '.join(sorted({c.me.corpus for c in convs} | {c.partner.corpus for c in convs}))}), "
              f"{sum(len(c.audio) for c in convs) / RATE / 60:.1f} min, each quiet and in a café "
              f"({len(bank.speakers)} speechocean762 voices used nowhere else, 3-8 at once, {SNR_DB:g} dB SNR)")
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        log("development: enrolling and embedding…")
        dev_scored, _ = score(dev, model, settings, scratch, "dev")
        me_at, other_below, rule = choose(dev_scored)
        print(f"\nthresholds chosen on the development speakers ({rule}): ME_AT {me_at:.4g}, OTHER_BELOW {other_below:.4g}"
              f"  (speakers.py now: {ME_AT:.4g} / {OTHER_BELOW:.4g})")
        sim, truth = pooled(dev_scored)
        e, at = eer(sim, truth)
        print(f"development EER {100 * e:.1f}% at {at:.3f}")
        table(dev_scored, me_at, other_below, "development speakers (the thresholds were chosen here)")
        log("test: enrolling and embedding…")
        test_scored, enrolments = score(test, model, settings, scratch, "test")
        table(test_scored, me_at, other_below, "held-out TEST speakers, RAVDESS actors 01-20 (target: error <= 5%)")
        if abs(me_at - ME_AT) > 1e-9 or abs(other_below - OTHER_BELOW) > 1e-9:
            table(test_scored, ME_AT, OTHER_BELOW, "held-out test speakers at speakers.py's thresholds")
        e, at = eer(*pooled(test_scored))
        print(f"test EER {100 * e:.1f}% (its own equal-error threshold {at:.3f}, for reference only)")
        trade_off(dev_scored, test_scored)
        print("\nthe encoder itself, on whole clips (no windows, no conversation; a reference from 12 ordinary "
              "clips, trials of 40 other clips per speaker):")
        for name, group in (("RAVDESS 01-20 (test)", ravdess_speakers()),
                            ("nEMO + TESS (development)", nemo_speakers() + tess_speakers())):
            every, same = whole_clips(group, 40)
            print(f"  {name:<26} EER {100 * every:5.1f}% against every other speaker, {100 * same:5.1f}% "
                  "against the same gender")
        log("partner agreement…")
        agreement(test, enrolments, model, settings, scratch, me_at, other_below)
    print(f"\nrun time {(time.monotonic() - started) / 60:.1f} min on {model.path.name} with 1 thread")


if __name__ == "__main__":
    with recorded():
        main()
