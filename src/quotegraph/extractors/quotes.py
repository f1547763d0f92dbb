"""Find quotations by their quotation marks, in plain text, before any parsing.

Quotation marks fix the boundaries of direct speech exactly, so they are found here by a
character scan rather than trusted to a tagger. Handles straight, curly and single marks,
quotes running over several paragraphs (an opening mark starts each paragraph, only the last
one closes), an opening mark lost by the scraper (a closing mark with no opener: the quote runs
from the start of its sentence) and an unclosed quote (it runs to the end of its paragraph).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOUBLE_OPEN = "“„«"
DOUBLE_CLOSE = "”»"
SINGLE_OPEN = "‘"
SINGLE_CLOSE = "’"
STRAIGHT = '"'

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n|\r\n[ \t]*\r\n|\n(?=[ \t]*[“\"‘„«])")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n)(?=\S)")


@dataclass(frozen=True)
class Quote:
    """A quotation: [start, end) covers the marks themselves; ``inner`` excludes them."""

    start: int
    end: int
    inner_start: int
    inner_end: int
    complete: bool = True  # False when a mark was missing (lost opener or no closer)
    paragraphs: int = 1

    @property
    def words(self) -> int:
        return self.inner_end - self.inner_start


def _is_word_char(ch: str) -> bool:
    return ch.isalnum()


def _classify(text: str, i: int, width: int = 1) -> str | None:
    """'open', 'close' or None (not a quotation mark here, e.g. an apostrophe or inch mark)."""
    ch = '"' if width == 2 else text[i]
    before = text[i - 1] if i > 0 else " "
    after = text[i + width] if i + width < len(text) else " "
    if ch == "`":
        return "open"
    if ch in DOUBLE_OPEN:
        return "open"
    if ch in DOUBLE_CLOSE:
        return "close"
    if ch == STRAIGHT:
        if before.isdigit() and not after.isalnum():
            return None  # 6'2" style measurements
        opens = before.isspace() or before in "([{—–-:;/" or i == 0
        closes = after.isspace() or after in ".,;:!?)]}—–-" or i + width == len(text)
        if opens and not closes:
            return "open"
        if closes and not opens:
            return "close"
        if before.isalpha() and after.isupper():  # glued by a scraper: Secretary"The
            return "open"
        return None
    if ch == SINGLE_OPEN:
        return "open" if not _is_word_char(before) else None
    if ch in (SINGLE_CLOSE, "'"):
        if _is_word_char(before) and _is_word_char(after):
            return None  # apostrophe: don’t, O’Brien
        if ch == "'" and (before.isspace() or i == 0) and after.isalpha():
            return "open"
        if (_is_word_char(before) or before in ".,!?") and not _is_word_char(after):
            # a closing single mark, or a plural possessive (voters’): decided by pairing
            return "close-single"
        return None
    return None


def _paragraph_ends(text: str) -> list[int]:
    ends = [m.start() for m in re.finditer(r"\n[ \t]*\n", text)]
    ends.append(len(text))
    return ends


def _sentence_start_before(text: str, pos: int, floor: int) -> int:
    """Start of the sentence that contains ``pos`` (not before ``floor``)."""
    start = floor
    for m in _SENTENCE_START.finditer(text, floor, pos):
        start = m.end()
    while start < pos and text[start].isspace():
        start += 1
    return start


def find_quotes(text: str) -> list[Quote]:
    """All double-quoted (and single-quoted, outside double quotes) quotations in ``text``."""
    quotes = _scan(text, double=True)
    covered = [(q.start, q.end) for q in quotes]
    for q in _scan(text, double=False):
        if not any(s <= q.start < e for s, e in covered):
            quotes.append(q)
    quotes.sort(key=lambda q: q.start)
    return quotes


# the characters each scan looks at (a regex finds them far faster than a loop over every character)
_DOUBLE_MARKS = re.compile("[" + re.escape(DOUBLE_OPEN + DOUBLE_CLOSE + STRAIGHT + "'`") + "]")
_SINGLE_MARKS = re.compile("[" + re.escape(SINGLE_OPEN + SINGLE_CLOSE + "'") + "]")


def _scan(text: str, double: bool) -> list[Quote]:
    marks: list[tuple[int, str]] = []
    widths: dict[int, int] = {}
    skip = -1  # the second character of a doubled mark
    for match in (_DOUBLE_MARKS if double else _SINGLE_MARKS).finditer(text):
        i = match.start()
        if i == skip:
            continue
        ch = text[i]
        doubled = ch in "'`" and text[i + 1 : i + 2] == ch  # ''quote'' and ``quote'' (NYT style)
        if double and ch == "'" and not doubled:
            continue
        if not double and (doubled or (i > 0 and text[i - 1] == ch)):
            continue
        width = 2 if doubled else 1
        kind = _classify(text, i, width)
        if doubled:
            skip = i + 1
        if kind is None:
            continue
        if kind == "close-single":
            kind = "close"
        marks.append((i, kind))
        widths[i] = width
    para_ends = _paragraph_ends(text)
    quotes: list[Quote] = []
    open_at: int | None = None
    first_open: int | None = None
    paragraphs = 1
    para_floor = 0

    def para_end_after(pos: int) -> int:
        for end in para_ends:
            if end >= pos:
                return end
        return len(text)

    idx = 0
    while idx < len(marks):
        pos, kind = marks[idx]
        if open_at is not None and pos > para_end_after(open_at):
            # the paragraph ended with the quote still open
            next_para_start = para_end_after(open_at)
            nxt = text[next_para_start:pos].strip()
            if kind == "open" and nxt == "":
                # a new paragraph that opens with a mark: the quote continues (multi-paragraph)
                open_at = pos
                paragraphs += 1
                idx += 1
                continue
            end = para_end_after(open_at)
            stripped_end = len(text[:end].rstrip())
            if double and first_open is not None and stripped_end > first_open + 1:
                quotes.append(Quote(first_open, stripped_end, first_open + widths[first_open], stripped_end, False, paragraphs))
            open_at = first_open = None
            paragraphs = 1
            continue
        if kind == "open":
            if open_at is None:
                open_at = first_open = pos
                paragraphs = 1
            else:
                # a second opener before any closer: the first one was unclosed
                # (or the "open" was a closer glued to a word); restart here
                open_at = first_open = pos
                paragraphs = 1
        else:  # close
            if open_at is not None:
                begin = first_open if first_open is not None else open_at
                quotes.append(Quote(begin, pos + widths[pos], begin + widths[begin], pos, True, paragraphs))
                open_at = first_open = None
                paragraphs = 1
            elif double:
                # closing mark with no opener: the opener was lost; the quote starts at its sentence
                para_floor = 0
                for end in para_ends:
                    if end < pos:
                        para_floor = end
                prev_end = quotes[-1].end if quotes else 0
                start = _sentence_start_before(text, pos, max(para_floor, prev_end))
                if pos - start >= 2:
                    quotes.append(Quote(start, pos + widths[pos], start, pos, False, 1))
        idx += 1
    if open_at is not None and double and first_open is not None:
        end = len(text[: para_end_after(open_at)].rstrip())
        if end > first_open + widths[first_open]:
            quotes.append(Quote(first_open, end, first_open + widths[first_open], end, False, paragraphs))
    return [q for q in quotes if q.inner_end > q.inner_start and text[q.inner_start : q.inner_end].strip()]
