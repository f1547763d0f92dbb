"""The data model every stage shares.

All records are frozen dataclasses holding plain data (ints, strings, tuples), so they are cheap
to pickle across worker processes and round-trip losslessly through JSON. Every offset is a
character offset into the *original* article text, end exclusive: cleaning never rewrites the
text users see, it only annotates it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


@dataclass(frozen=True)
class Span:
    """A stretch of the original text; discontinuous when ``pieces`` has more than one part.

    ``start``/``end`` cover the whole extent. For a discontinuous span ``pieces`` lists the
    parts (sorted, non-overlapping) and ``text`` is their texts joined by `` … ``; for a
    contiguous span ``pieces`` is empty and ``text == original[start:end]``.
    """

    start: int
    end: int
    text: str
    pieces: tuple[tuple[int, int], ...] = ()

    @classmethod
    def of(cls, original: str, start: int, end: int) -> Span:
        """A contiguous span sliced from ``original``."""
        return cls(start, end, original[start:end])

    @classmethod
    def join(cls, original: str, pieces: list[tuple[int, int]]) -> Span:
        """A span from one or more (start, end) parts; contiguous when only one remains."""
        merged: list[tuple[int, int]] = []
        for start, end in sorted(p for p in pieces if p[1] > p[0]):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        if not merged:
            raise ValueError("a span needs at least one non-empty piece")
        if len(merged) == 1:
            return cls.of(original, *merged[0])
        text = " … ".join(original[s:e] for s, e in merged)
        return cls(merged[0][0], merged[-1][1], text, tuple(merged))

    def offsets(self) -> list[tuple[int, int]]:
        """The (start, end) parts of this span: one for a contiguous span."""
        return list(self.pieces) if self.pieces else [(self.start, self.end)]

    def piece_texts(self, original: str) -> list[str]:
        return [original[s:e] for s, e in self.offsets()]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"start": self.start, "end": self.end, "text": self.text}
        if self.pieces:
            data["pieces"] = [list(p) for p in self.pieces]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Span:
        pieces = tuple(tuple(p) for p in data.get("pieces", ()))
        return cls(int(data["start"]), int(data["end"]), str(data["text"]), pieces)  # type: ignore[arg-type]


class Kind(str, Enum):
    """How the content is reported."""

    DIRECT = "direct"  # the content is a quotation, in quotation marks
    INDIRECT = "indirect"  # paraphrase: "X said that ..."
    MIXED = "mixed"  # paraphrase with quoted fragments


class Method(str, Enum):
    """How a source mention was tied to a speaker."""

    NAME = "name"  # the mention is itself a full name
    SURNAME = "surname"  # a part of a name introduced elsewhere in the article
    TITLE = "title"  # a title or role noun matching a named person's title
    PRONOUN = "pronoun"  # a pronoun, bound to the nearest compatible speaker
    ADJACENT = "adjacent"  # no source in the sentence: speaker of the previous/next sentence
    DESCRIPTION = "description"  # never named in the article: kept as its own description
    NONE = "none"  # no source mention at all


@dataclass(frozen=True)
class Link:
    """One step of a resolution chain: ``mention`` was tied to ``antecedent`` by ``rule``."""

    mention: Span
    antecedent: Span
    rule: str

    def to_json(self) -> dict[str, Any]:
        return {"mention": self.mention.to_json(), "antecedent": self.antecedent.to_json(), "rule": self.rule}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Link:
        return cls(Span.from_json(data["mention"]), Span.from_json(data["antecedent"]), data["rule"])


@dataclass(frozen=True)
class Resolution:
    """How the speaker of an attribution was found, with the evidence that supports it."""

    method: Method = Method.NONE
    chain: tuple[Link, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method.value, "chain": [link.to_json() for link in self.chain]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Resolution:
        return cls(Method(data["method"]), tuple(Link.from_json(x) for x in data.get("chain", ())))


@dataclass(frozen=True)
class Attribution:
    """One reported statement: who (source), how (cue), what (content)."""

    content: Span
    source: Span | None = None
    cue: Span | None = None
    kind: Kind = Kind.INDIRECT
    confidence: float = 0.5
    speaker_id: str | None = None
    resolution: Resolution = field(default_factory=Resolution)
    rule: str = ""  # which extraction rule produced it, for debugging and calibration

    def spans(self) -> list[Span]:
        return [s for s in (self.source, self.cue, self.content) if s is not None]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source.to_json() if self.source else None,
            "cue": self.cue.to_json() if self.cue else None,
            "content": self.content.to_json(),
            "kind": self.kind.value,
            "confidence": round(self.confidence, 4),
            "speaker_id": self.speaker_id,
            "resolution": self.resolution.to_json(),
            "rule": self.rule,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attribution:
        return cls(
            content=Span.from_json(data["content"]),
            source=Span.from_json(data["source"]) if data.get("source") else None,
            cue=Span.from_json(data["cue"]) if data.get("cue") else None,
            kind=Kind(data["kind"]),
            confidence=float(data["confidence"]),
            speaker_id=data.get("speaker_id"),
            resolution=Resolution.from_json(data["resolution"]) if data.get("resolution") else Resolution(),
            rule=data.get("rule", ""),
        )


@dataclass(frozen=True)
class Speaker:
    """A person (or body) the article quotes, under one canonical name."""

    id: str
    name: str  # canonical: the fullest name the article gives, or the description if never named
    mentions: tuple[Span, ...] = ()
    title: str | None = None  # title or role when the article gives one ("Russian Foreign Minister")
    named: bool = True  # False when the article never names this speaker

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "named": self.named,
            "mentions": [m.to_json() for m in self.mentions],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Speaker:
        return cls(
            id=data["id"],
            name=data["name"],
            mentions=tuple(Span.from_json(m) for m in data.get("mentions", ())),
            title=data.get("title"),
            named=bool(data.get("named", True)),
        )


@dataclass(frozen=True)
class Damage:
    """A place where the scraped text is damaged (glued words, a hole, a header line)."""

    kind: str  # "glued", "hole", "header", "credit", ...
    start: int
    end: int
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Damage:
        return cls(data["kind"], int(data["start"]), int(data["end"]), data.get("note", ""))


@dataclass(frozen=True)
class Article:
    """The text of one article exactly as read, with whatever metadata its source gave."""

    text: str
    id: str = ""
    url: str | None = None
    title: str | None = None
    date: str | None = None  # ISO 8601 date (or datetime) when known
    author: str | None = None
    publisher: str | None = None
    credit: str | None = None  # photo or agency credit line
    language: str | None = None
    path: str | None = None  # where it was read from

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Article:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Extraction:
    """Everything quotegraph found in one article."""

    article: Article
    attributions: tuple[Attribution, ...] = ()
    speakers: tuple[Speaker, ...] = ()
    damage: tuple[Damage, ...] = ()

    def speaker(self, speaker_id: str | None) -> Speaker | None:
        for s in self.speakers:
            if s.id == speaker_id:
                return s
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "article": self.article.to_json(),
            "attributions": [a.to_json() for a in self.attributions],
            "speakers": [s.to_json() for s in self.speakers],
            "damage": [d.to_json() for d in self.damage],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Extraction:
        return cls(
            article=Article.from_json(data["article"]),
            attributions=tuple(Attribution.from_json(a) for a in data.get("attributions", ())),
            speakers=tuple(Speaker.from_json(s) for s in data.get("speakers", ())),
            damage=tuple(Damage.from_json(d) for d in data.get("damage", ())),
        )

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False)
