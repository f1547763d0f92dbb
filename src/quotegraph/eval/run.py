"""Run an extractor over a PolNeAR split and score it; or score a saved predictions file.

The predictions file (JSON lines, one per article) is the hand-off format between a system and
the scorer, so an independent checker can score any system's output with the same code::

    {"doc": "<article name>", "attributions": [{"source": [[s, e], ...], "cue": [[s, e], ...],
     "content": [[s, e], ...], "speaker": "<canonical name or null>", "rule": "<what found it>",
     "confidence": <0..1>}]}

``confidence`` is optional when scoring (a checker's own system may have none).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from quotegraph.errors import InputError
from quotegraph.eval.calibration import Calibration
from quotegraph.eval.polnear import GoldArticle, load_split
from quotegraph.eval.score import Report, score_article
from quotegraph.model import Extraction, Span

Extractor = Callable[[str], Extraction]

PROGRESS_EVERY = 20  # articles between progress lines when stderr is not a terminal


@dataclass(frozen=True)
class PredictedAttribution:
    """A prediction read back from a predictions file: spans plus the resolved speaker name."""

    content: Span
    source: Span | None
    cue: Span | None
    speaker: str | None = None


def prediction_row(doc: str, extraction: Extraction) -> dict[str, Any]:
    """The predictions-file record for one article, in the documented key order."""
    rows = []
    for attribution in extraction.attributions:
        speaker = extraction.speaker(attribution.speaker_id) if attribution.speaker_id else None
        rows.append(
            {
                "source": _offsets(attribution.source),
                "cue": _offsets(attribution.cue),
                "content": _offsets(attribution.content),
                "speaker": speaker.name if speaker is not None else None,
                "rule": attribution.rule,
                "confidence": round(attribution.confidence, 4),
            }
        )
    return {"doc": doc, "attributions": rows}


def _offsets(span: Span | None) -> list[list[int]]:
    return [] if span is None else [[start, end] for start, end in span.offsets()]


@contextmanager
def atomic_writer(path: Path) -> Iterator[IO[str]]:
    """Write to a temporary file beside ``path`` and rename it into place only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # a fresh name opened with "x" (not mkstemp) so the file gets the usual umask permissions
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="\n") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class _Progress:
    """Progress on stderr: a self-overwriting counter on a terminal, periodic lines otherwise."""

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self.total, self.label, self.enabled = total, label, enabled
        self.tty = enabled and sys.stderr.isatty()
        self.started = time.perf_counter()
        self.width = 0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        message = f"{self.label}: {done}/{self.total} articles, {rate:.2f} articles/s"
        if self.tty:
            # pad so a shorter message fully covers the previous one
            padded = message.ljust(self.width)
            self.width = len(message)
            sys.stderr.write("\r" + padded + ("\n" if done == self.total else ""))
            sys.stderr.flush()
        elif done % PROGRESS_EVERY == 0 or done == self.total:
            print(message, file=sys.stderr, flush=True)


def _default_extractor() -> Extractor:
    from quotegraph.pipeline import extract  # heavy (spaCy): only when actually extracting

    return extract


def evaluate_polnear(
    data_dir: Path | str,
    split: str,
    extractor: Extractor | None = None,
    predictions: Path | str | None = None,
    progress: bool = True,
    calibration: Calibration | None = None,
    damage: int | None = None,
) -> Report:
    """Extract attributions from every article of ``split`` and score them against the gold.

    ``seconds`` in the report is the wall time of extraction and scoring (including the first
    call's model loading), not of reading the gold. With ``predictions`` the system output is
    also saved in the predictions-file format, atomically. With ``calibration`` every predicted
    attribution is also judged right or wrong by confidence band. With ``damage`` (a seed) the
    articles are first damaged as scraped text is (:mod:`quotegraph.eval.damage`).
    """
    articles = _articles(data_dir, split, damage)
    extract = extractor if extractor is not None else _default_extractor()
    report = Report(split=split)
    meter = _Progress(len(articles), f"polnear {split}", progress)
    started = time.perf_counter()

    def run(sink: IO[str] | None) -> None:
        for done, article in enumerate(articles, start=1):
            extraction = extract(article.text)
            _add(report, article, extraction.attributions)
            if calibration is not None:
                calibration.add(article.text, article.attributions, extraction.attributions)
            if sink is not None:
                sink.write(json.dumps(prediction_row(article.name, extraction), ensure_ascii=False) + "\n")
            meter.update(done)

    if predictions is None:
        run(None)
    else:
        with atomic_writer(Path(predictions)) as sink:
            run(sink)
    report.seconds = time.perf_counter() - started
    return report


def _articles(data_dir: Path | str, split: str, damage: int | None) -> list[GoldArticle]:
    articles = load_split(data_dir, split)
    if damage is None:
        return articles
    from quotegraph.eval.damage import damage_article

    return [damage_article(article, damage) for article in articles]


def _add(report: Report, article: GoldArticle, predicted: Any) -> None:
    predicted = list(predicted)
    report.articles += 1
    report.gold_attributions += len(article.attributions)
    report.predicted_attributions += len(predicted)
    report.add(score_article(article.text, article.attributions, predicted))


def read_predictions(path: Path | str, texts: dict[str, str]) -> dict[str, list[PredictedAttribution]]:
    """Parse a predictions file against the article texts (``{doc: text}``), validating offsets."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"predictions file not found: {path}")
    found: dict[str, list[PredictedAttribution]] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{where}: not valid JSON ({err.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("doc"), str):
                raise InputError(f'{where}: expected an object with a "doc" name')
            doc = row["doc"]
            if doc not in texts:
                raise InputError(f"{where}: doc {doc!r} is not an article of this split")
            if doc in found:
                raise InputError(f"{where}: doc {doc!r} appears twice")
            items = row.get("attributions")
            if not isinstance(items, list):
                raise InputError(f'{where}: "attributions" must be a list')
            found[doc] = [_predicted(item, texts[doc], where) for item in items]
    return found


def _predicted(item: Any, text: str, where: str) -> PredictedAttribution:
    if not isinstance(item, dict):
        raise InputError(f"{where}: each attribution must be an object")
    content = _span(item.get("content"), text, where, "content")
    if content is None:
        raise InputError(f"{where}: an attribution has no content offsets")
    speaker = item.get("speaker")
    if speaker is not None and not isinstance(speaker, str):
        raise InputError(f'{where}: "speaker" must be a string or null')
    return PredictedAttribution(
        content=content,
        source=_span(item.get("source", []), text, where, "source"),
        cue=_span(item.get("cue", []), text, where, "cue"),
        speaker=speaker,
    )


def _span(value: Any, text: str, where: str, role: str) -> Span | None:
    if value is None or value == []:
        return None
    if not isinstance(value, list):
        raise InputError(f"{where}: {role} must be a list of [start, end] pairs")
    pieces = []
    for pair in value:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in pair)
        ):
            raise InputError(f"{where}: {role} must be a list of [start, end] pairs, got {pair!r}")
        start, end = pair
        if not 0 <= start < end <= len(text):
            raise InputError(f"{where}: {role} span {start}-{end} lies outside the article (length {len(text)})")
        pieces.append((start, end))
    return Span.join(text, pieces)


def score_predictions_file(data_dir: Path | str, split: str, predictions_path: Path | str,
                           damage: int | None = None) -> Report:
    """Score a saved predictions file; gold articles without a line count as predicting nothing.
    ``damage`` must be the seed the predictions were made with (the texts are damaged again)."""
    articles = _articles(data_dir, split, damage)
    predicted = read_predictions(predictions_path, {a.name: a.text for a in articles})
    report = Report(split=split)
    for article in articles:
        if article.name not in predicted:
            report.missing_predictions += 1
        _add(report, article, predicted.get(article.name, []))
    return report
