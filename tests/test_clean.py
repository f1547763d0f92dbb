"""Damage detection on scraped text: header lines, glued words, holes, offset mapping."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quotegraph.clean import Cleaned, clean, common_words, parse_header

SCRAPED = (
    "date 2017-04-13 © Jane Doe / Agency\n"
    "\n"
    "\n"
    "\n"
    'Minister Ivan Petrov said after talks in Berlin. "We are sure this will work," the Foreign\n'
    "Minister said, adding, thatAt the same time, Petrov noted that Moscow is ready ... the US\n"
    'State Secretary"The facts are conclusive," the top US diplomat stated.'
)


def kinds(cleaned: Cleaned, kind: str) -> list[str]:
    return [cleaned.original[d.start : d.end] for d in cleaned.damage if d.kind == kind]


def without_inserted(cleaned: Cleaned) -> str:
    """The working text with the inserted spaces taken out again."""
    drop = {o + k for k, o in enumerate(cleaned.inserted)}  # working offsets of the spaces
    return "".join(ch for i, ch in enumerate(cleaned.text) if i not in drop)


def assert_consistent(cleaned: Cleaned) -> None:
    """The invariants every Cleaned must satisfy, whatever the input."""
    original, text = cleaned.original, cleaned.text
    assert len(text) == len(original) + len(cleaned.inserted)
    assert list(cleaned.inserted) == sorted(set(cleaned.inserted))
    for k, o in enumerate(cleaned.inserted):
        assert 0 < o < len(original)
        assert text[o + k] == " "
    restored = without_inserted(cleaned)
    assert len(restored) == len(original)
    blanked = set()
    for start, end in cleaned.blanked:
        assert 0 <= start <= end <= cleaned.body_start
        assert restored[start:end] == " " * (end - start)
        blanked.update(range(start, end))
    assert all(restored[i] == original[i] for i in range(len(original)) if i not in blanked)
    for d in cleaned.damage:
        assert 0 <= d.start <= d.end <= len(original), d
    previous = -1
    for w in range(len(text) + 1):
        o = cleaned.to_original(w)
        assert 0 <= o <= len(original)
        assert o >= previous
        previous = o
    for i in range(len(original) + 1):
        assert cleaned.to_original(cleaned.to_working(i)) == i


# ---------------------------------------------------------------- the scraped example


def test_scraped_example_header() -> None:
    cleaned = clean(SCRAPED)
    assert cleaned.header["date"] == "2017-04-13"
    assert cleaned.header["credit"] == "Jane Doe / Agency"
    assert kinds(cleaned, "header") == ["date 2017-04-13"]
    assert kinds(cleaned, "credit") == ["© Jane Doe / Agency"]
    assert SCRAPED[cleaned.body_start :].startswith("Minister Ivan Petrov")


def test_scraped_example_header_is_blanked_keeping_length() -> None:
    cleaned = clean(SCRAPED)
    first_line = SCRAPED.index("\n")
    assert cleaned.text[:first_line] == " " * first_line
    assert cleaned.text[first_line : first_line + 3] == "\n\n\n"
    assert "Jane" not in cleaned.text and "2017" not in cleaned.text
    assert cleaned.blanked == ((0, first_line),)
    assert_consistent(cleaned)


def test_scraped_example_glued_words() -> None:
    cleaned = clean(SCRAPED)
    assert kinds(cleaned, "glued") == ["thatAt", 'Secretary"The']
    assert cleaned.inserted == (SCRAPED.index("At the same"), SCRAPED.index('"The facts'))
    assert "adding, that At the same time" in cleaned.text
    assert 'State Secretary "The facts' in cleaned.text
    # the rest of the text is untouched: the ellipsis and the real quotation stay as they were
    assert '"We are sure this will work," the Foreign' in cleaned.text
    assert "Moscow is ready ... the US" in cleaned.text
    assert kinds(cleaned, "hole") == []


def test_mapping_through_a_glued_boundary() -> None:
    cleaned = clean(SCRAPED)
    at = SCRAPED.index("At the same")
    w = cleaned.to_working(at)
    assert cleaned.text[w : w + 2] == "At"
    assert cleaned.text[w - 1] == " "
    assert cleaned.to_original(w) == at
    assert cleaned.to_original(w - 1) == at  # the inserted space maps to the next original char
    that = SCRAPED.index("thatAt")
    assert cleaned.text[cleaned.to_working(that) : cleaned.to_working(that) + 4] == "that"


# ---------------------------------------------------------------- glued words


@pytest.mark.parametrize(
    ("original", "working", "glued"),
    [
        ("the report, theThe minister", "the report, the The minister", "theThe"),
        ("He was adding,thatAt noon", "He was adding,that At noon", "thatAt"),
        ("as the US State Secretary“The facts", "as the US State Secretary “The facts", "Secretary“The"),
        ('he said.The minister left.', "he said. The minister left.", "said.The"),
        ("Moscow is ready.He left.", "Moscow is ready. He left.", "ready.He"),
        ('she said,"We will win"', 'she said, "We will win"', 'said,"We'),
        ("“We will win,”the minister said", "“We will win,” the minister said", "win,”the"),
        ('"We will win,"the minister said', '"We will win," the minister said', 'win,"the'),
        ("worried aboutVladimir Putin", "worried about Vladimir Putin", "aboutVladimir"),
        # a dropped link between two lowercase words: no English word, two frequent ones
        ("raised money intohigh-dollar accounts", "raised money into high-dollar accounts", "intohigh"),
        ("if you show him that's theforward, he", "if you show him that's the forward, he", "theforward"),
        ("she thinksis strongest when", "she thinks is strongest when", "thinksis"),
        ("there aresecurity concerns.", "there are security concerns.", "aresecurity"),
        # glues common enough on the web to be in the word list, far rarer than their halves
        ("He said thatthe plan failed.", "He said that the plan failed.", "thatthe"),
        ("He went tothe shop.", "He went to the shop.", "tothe"),
        # a capitalised word that the article also has on its own, a lowercase word glued on
        ("Donald Trump won. Trumpsupporters cheered.", "Donald Trump won. Trump supporters cheered.", "Trumpsupporters"),
        ("Voters like Hillary. Hillaryis strong.", "Voters like Hillary. Hillary is strong.", "Hillaryis"),
    ],
)
def test_glued_boundaries_are_split(original: str, working: str, glued: str) -> None:
    cleaned = clean(original)
    assert cleaned.text == working
    assert kinds(cleaned, "glued") == [glued]
    assert_consistent(cleaned)


FALSE_POSITIVES = [
    "McDonald",
    "MacArthur",
    "iPhone",
    "YouTube",
    "PolitiFact",
    "DeSantis",
    "McConnell",
    "LeBron",
    "JavaScript",
    "eBay",
    "U.S.",
    "a.m.",
    "e.g.",
    "https://www.example.com/theReport?id=3.5",
    "www.state.gov/theThe",
    "jane.doe@state.gov",
    "press.Office@Example.org",
    "@realDonaldTrump",
    "#theResistance",
    "Ph.D.",
    "J.R.R.",
    "3.5",
    "NATO",
    "FBI",
    "easyJet",
    "getElementById",
    "handcuffing",  # rare words are words: "hand|cuffing"
    "overstepped",
    "undertaxed",  # a prefix and a word: "under|taxed" is a compound
    "unendorse",
    "yearslong",  # a word and a suffix
    "toon",  # listed words a little rarer than their halves side by side: "to|on"
    "thereto",
    "beget",
    "whatnot",
    "citywide",
    "didn’t",
    "xqzvbn",  # no split into two frequent words
    "intohigh's",  # a name with an apostrophe
    "example.com/intohigh",
    "www.intohigh.org",
    "@intohigh",
    "#intohigh",
    "jane.intohigh@example.org",
]

# capitalised words that only the article can tell from glue: the first part occurs on its own
CAPITALISED_IN_CONTEXT = [
    "Sergei Gutin said. Gut feelings.",  # "Gut" only where a sentence start capitalises it
    "Gutin said it. Gutin left. He met Gut.",  # a name repeated is a name
    "Rafaelito spoke. We met Rafael.",  # a short glued-on word must be a common word
    "Putinesque style. We met Putin.",  # a suffix, not a word
    "Obamacare is law. We met Obama.",  # an English word
    "Gutin said it.",  # "Gut" never occurs on its own
]


@pytest.mark.parametrize("text", CAPITALISED_IN_CONTEXT)
def test_capitalised_words_are_split_only_on_the_articles_evidence(text: str) -> None:
    cleaned = clean(text)
    assert cleaned.inserted == (), text
    assert kinds(cleaned, "glued") == []


@pytest.mark.parametrize("word", FALSE_POSITIVES)
def test_real_words_and_names_are_not_split(word: str) -> None:
    for original in (word, f"Yesterday {word} said The", f"the {word} Report, which {word}."):
        cleaned = clean(original)
        assert cleaned.inserted == (), original
        assert cleaned.text == original
        assert kinds(cleaned, "glued") == []


def test_uncommon_lowercase_prefix_is_not_split() -> None:
    # "xyz" is not a common word, so "xyzAt" is left for the user to read
    assert clean("the xyzAt noon").inserted == ()
    assert "that" in common_words() and "xyz" not in common_words()


def test_quote_inside_a_quotation_is_treated_as_closing() -> None:
    # second straight quote on the line closes the quotation: the space goes after it
    cleaned = clean('"It works,"Petrov said.')
    assert cleaned.text == '"It works," Petrov said.'


def test_header_lines_are_not_split() -> None:
    cleaned = clean("By Jane Doe\nPhoto: theThe/AP\n\nHe said.The end.")
    assert cleaned.header["author"] == "Jane Doe"
    assert kinds(cleaned, "glued") == ["said.The"]
    assert all(o >= cleaned.body_start for o in cleaned.inserted)


# ---------------------------------------------------------------- holes


@pytest.mark.parametrize(
    ("original", "hole"),
    [
        ("The figures, released by , show a drop.", " ,"),
        ("The claim was rated false by .", " ."),
        ("He said, according to the.", "the."),
        ("It was reported by an, and denied.", "an,"),
        ("Petrov told the  that Moscow was ready.", "  "),
        ("It was Petrov and. The talks ended.", "and."),
    ],
)
def test_holes_are_flagged_without_changing_text(original: str, hole: str) -> None:
    cleaned = clean(original)
    assert kinds(cleaned, "hole") == [hole]
    assert cleaned.text == original
    assert cleaned.inserted == ()


@pytest.mark.parametrize(
    "original",
    [
        "Moscow is ready ... the US will wait.",
        "He paused . . . and then left.",
        "It was unheard of. Nobody knew where it came from.",
        "The  majority agreed.",  # a double space before a content word is just a double space
        "Rates rose 0.5 percent, or .5 points.",
        "He waited, and, in the end, left.",
        "The Minister of Foreign Affairs spoke.",
    ],
)
def test_no_holes_in_clean_prose(original: str) -> None:
    assert kinds(clean(original), "hole") == []


# ---------------------------------------------------------------- header


@pytest.mark.parametrize(
    ("original", "header"),
    [
        ("2017-04-13\nThe minister said.", {"date": "2017-04-13"}),
        ("April 13, 2017\n\nThe minister said.", {"date": "2017-04-13"}),
        ("Published: 13 April 2017 10:42 BST\nThe minister said.", {"date": "2017-04-13"}),
        ("By Jane Doe\nThe minister said.", {"author": "Jane Doe"}),
        ("Photo: John Roe/AP\nThe minister said.", {"credit": "John Roe/AP"}),
        ("(Reuters)\nThe minister said.", {"credit": "Reuters"}),
        (
            "Thursday, April 13, 2017 | By Jane Doe\n© John Roe\nThe minister said.",
            {"date": "2017-04-13", "author": "Jane Doe", "credit": "John Roe"},
        ),
        ("13.04.2017\nThe minister said.", {"date": "2017-04-13"}),
        ("04/05/2017\nThe minister said.", {}),  # a header line, but day and month are ambiguous
    ],
)
def test_header_lines_are_parsed(original: str, header: dict[str, str]) -> None:
    parsed, body_start, damage = parse_header(original)
    assert parsed == header
    assert original[body_start:] == "The minister said."
    assert damage and all(d.kind in ("header", "credit") for d in damage)
    cleaned = clean(original)
    assert cleaned.header == header and cleaned.body_start == body_start
    assert cleaned.text.endswith("The minister said.")
    assert cleaned.text[:body_start].strip() == ""
    assert_consistent(cleaned)


@pytest.mark.parametrize(
    "original",
    [
        "By the time he arrived, the talks were over.",
        "By Monday, the ministers had agreed.",
        "April 13, 2017 was the day the talks ended.",
        "2017 was a hard year, Petrov said.",
        "The minister said on April 13, 2017 that Moscow was ready.",
        "Photographs of the meeting were published on Monday.",
        "(Reuters) - Russian Foreign Minister Ivan Petrov said on Thursday.",
        "Published reports said the talks had failed.",
    ],
)
def test_first_sentence_is_never_taken_as_header(original: str) -> None:
    header, body_start, damage = parse_header(original + "\nMore text.")
    assert (header, body_start, damage) == ({}, 0, [])
    assert clean(original).text == original


# ---------------------------------------------------------------- properties and speed


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_cleans_consistently(original: str) -> None:
    assert_consistent(clean(original))


DAMAGE_ALPHABET = st.sampled_from(
    ["the", "The", "that", "At", "said", ".", ",", " ", "  ", "\n", '"', "“", "”", "iPhone", "2017-04-13", "© ", "By ", "Jane", "a.m.", "@x", "..."]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(DAMAGE_ALPHABET, max_size=40).map("".join))
def test_damage_like_text_cleans_consistently(original: str) -> None:
    assert_consistent(clean(original))


def test_large_text_is_fast() -> None:
    paragraph = SCRAPED.split("\n", 4)[4] + " Figures released by , show a drop.\n\n"
    big = paragraph * (5_000_000 // len(paragraph))
    started = time.perf_counter()
    cleaned = clean(big)
    elapsed = time.perf_counter() - started
    copies = big.count("thatAt")
    assert len(cleaned.inserted) == 2 * copies
    assert len(cleaned.text) == len(big) + 2 * copies
    assert elapsed < 5, f"cleaning 5 MB took {elapsed:.1f}s"
