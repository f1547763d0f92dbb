"""What the pages compute before a template prints it: highlighted runs of an article, search
terms, resolution steps, safe links, the timeline chart, and autoescaping in every template."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from quotegraph.model import Attribution, Damage, Kind, Span
from quotegraph.serve.app import templates
from quotegraph.serve.chart import OTHER, timeline_chart
from quotegraph.serve.render import (
    highlight,
    mark_quote,
    mark_terms,
    paragraph_of,
    paragraph_starts,
    safe_url,
)
from quotegraph.store.views import Timeline, week_of

TEXT = '"We are ready," Lavrov said, "and we will wait."\n\nThe minister said Kerry agreed.'


def att(text: str, content: list[tuple[int, int]], source: tuple[int, int] | None = None,
        cue: tuple[int, int] | None = None) -> Attribution:
    return Attribution(content=Span.join(text, content), source=Span.of(text, *source) if source else None,
                       cue=Span.of(text, *cue) if cue else None, kind=Kind.DIRECT)


def role_at(segments: list, text: str, needle: str) -> tuple[str | None, int | None]:
    """The role and attribution number of the run where ``needle`` (first found) starts."""
    at = text.index(needle)
    seg = next(s for s in segments if s.start <= at < s.start + len(s.text))
    return seg.role, seg.att


def test_highlight_covers_the_text_exactly_once_with_roles() -> None:
    lav = TEXT.index("Lavrov")
    first = att(TEXT, [(0, 14), (29, 48)], source=(lav, lav + 6), cue=(lav + 7, lav + 11))
    minister = TEXT.index("The minister")
    second = att(TEXT, [(TEXT.index("Kerry"), len(TEXT) - 1)], source=(minister, minister + 12),
                 cue=(minister + 13, minister + 17))
    are = TEXT.index("are")
    segments = highlight(TEXT, [first, second], [Damage("glued", are, are + 3)])
    assert "".join(s.text for s in segments) == TEXT
    assert [s.start for s in segments] == sorted(s.start for s in segments)
    assert role_at(segments, TEXT, "Lavrov") == ("source", 1) and role_at(segments, TEXT, "said,") == ("cue", 1)
    assert role_at(segments, TEXT, "The minister") == ("source", 2)
    assert role_at(segments, TEXT, "said Kerry") == ("cue", 2)
    assert role_at(segments, TEXT, ", \"and") == (None, None)  # between the pieces of a discontinuous quote
    assert [s.before for s in segments if s.before] == [[1], [1], [2]]  # a badge at each content piece
    assert [s.after for s in segments if s.after] == [["source"], ["cue"], ["source"], ["cue"]]
    damaged = [s for s in segments if s.damage]
    assert [s.text for s in damaged] == ["are"] and damaged[0].role == "content" and damaged[0].damage == ["glued"]


def test_nested_spans_show_the_most_specific_role() -> None:
    text = 'She said "Tom told me: no deal" yesterday.'
    outer = att(text, [(9, 31)], source=(0, 3), cue=(4, 8))
    tom = text.index("Tom")
    deal = text.index("no deal")
    inner = att(text, [(deal, deal + 7)], source=(tom, tom + 3), cue=(tom + 4, tom + 8))
    segments = highlight(text, [outer, inner])
    assert role_at(segments, text, "Tom") == ("source", 2) and role_at(segments, text, "told") == ("cue", 2)
    assert role_at(segments, text, "no deal") == ("content", 2)  # the shorter content wins inside the longer
    assert role_at(segments, text, "me:") == ("content", 1) and role_at(segments, text, "She") == ("source", 1)


@settings(max_examples=80, deadline=None)
@given(st.text(min_size=1, max_size=60), st.lists(st.tuples(st.integers(0, 70), st.integers(0, 70)), max_size=6))
def test_highlight_never_loses_or_repeats_text(text: str, raw: list[tuple[int, int]]) -> None:
    spans = [(min(a, b), max(a, b)) for a, b in raw if min(a, b) < min(max(a, b), len(text))]
    atts = [att(text, [(s, min(e, len(text)))]) for s, e in spans if s < min(e, len(text))]
    segments = highlight(text, atts, [Damage("hole", 0, min(3, len(text)))])
    assert "".join(s.text for s in segments) == text


def test_search_terms_are_marked_by_stem() -> None:
    runs = mark_terms("Chemical weapons, a weapon's reach; weaponry", [["weapon"], ["chemicals"]])
    assert [t for t, marked in runs if marked] == ["Chemical", "weapons", "weapon's"]
    assert "".join(t for t, _ in runs) == "Chemical weapons, a weapon's reach; weaponry"
    assert mark_terms("nothing here", []) == [("nothing here", False)]


def test_the_quote_is_marked_in_its_context() -> None:
    runs = mark_quote('He said "we are\nready" today', '"we are ready"')
    assert [t for t, marked in runs if marked] == ['"we are\nready"']
    assert mark_quote("other text", "absent quote") == [("other text", False)]


def test_paragraphs_are_counted_from_one() -> None:
    text = "First para.\n\nSecond para.\n \nThird."
    starts = paragraph_starts(text)
    assert [paragraph_of(starts, text.index(w)) for w in ("First", "Second", "Third")] == [1, 2, 3]
    single = "One line\nanother line"
    assert paragraph_of(paragraph_starts(single), single.index("another")) == 2


def test_only_web_links_are_links() -> None:
    assert safe_url("https://example.org/a?b=1") == "https://example.org/a?b=1"
    assert safe_url(" http://example.org ") == "http://example.org"
    for bad in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,<b>x</b>", "//evil.example/x",
                "vbscript:x", "", None, "http://"):
        assert safe_url(bad) is None, bad


def test_timeline_chart_stacks_outlets_per_week() -> None:
    counts = {("2024-03-04", "A"): 3, ("2024-03-04", "B"): 2, ("2024-03-18", "A"): 1}
    for i in range(7):
        counts[("2024-03-11", f"minor{i}")] = 1
    outlets = ["A", "B", *(f"minor{i}" for i in range(7))]
    chart = timeline_chart(Timeline(counts, outlets, {}, 0), max_outlets=3)
    assert chart.weeks == 3  # the empty week in between counts too
    left, top, right, _ = chart.plot
    by_x: dict[float, list] = {}
    for bar in chart.bars:
        by_x.setdefault(bar.x, []).append(bar)
        assert left <= bar.x and bar.x + bar.width <= right + 0.1 and top - 0.1 <= bar.y
    heights = {x: sum(b.height for b in bars) for x, bars in by_x.items()}
    xs = sorted(heights)
    assert heights[xs[1]] > heights[xs[0]] > heights[xs[2]]  # 7 others > 5 > 1
    assert abs(heights[xs[0]] / heights[xs[2]] - 5) < 0.05
    assert [name for _, name, _ in chart.legend] == ["A", "B", "minor0", OTHER]
    assert {name: n for _, name, n in chart.legend}[OTHER] == 6
    assert chart.y_labels[-1].text == "8" and [lab.text for lab in chart.y_labels] == ["0", "2", "4", "6", "8"]


def test_long_timelines_keep_the_latest_weeks() -> None:
    counts = {(week_of(f"{year}-01-08"), "A"): 1 for year in (2020, 2021, 2022, 2023)}
    chart = timeline_chart(Timeline(counts, ["A"], {"A": 4}, 0), max_weeks=60)
    assert chart.weeks == 60 and chart.dropped_weeks > 0
    empty = timeline_chart(Timeline({}, [], {}, 2))
    assert empty.bars == [] and empty.summary == "no dated statements"


def test_every_template_escapes() -> None:
    env = templates()
    assert env.autoescape is True
    html = env.from_string("{{ x }}").render(x="<script>alert(1)</script>")
    assert html == "&lt;script&gt;alert(1)&lt;/script&gt;"
    for name in env.list_templates():
        assert name.endswith((".html", ".svg")), name
