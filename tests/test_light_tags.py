"""The fast pipeline's word-list tagger (quotegraph.light_tags): tags, entities and the shallow
parse the speaker resolver reads, on hand-written sentences, and the resolver behind it."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy

from quotegraph.annotate import annotate, load_nlp
from quotegraph.clean import clean
from quotegraph.ingest.text import article_from_text
from quotegraph.light_tags import LIGHT_TAGS
from quotegraph.model import Attribution, Span
from quotegraph.models.fast import DEFAULT_MODEL_DIR, MODEL_FILE, light_nlp
from quotegraph.pipeline import Pipeline
from quotegraph.resolve import resolve


@pytest.fixture(scope="module")
def nlp() -> spacy.language.Language:
    return light_nlp()


def tags(nlp, text: str) -> dict[str, tuple[str, str]]:
    return {t.text: (t.pos_, t.tag_) for t in nlp(text)}


def ents(nlp, text: str) -> list[tuple[str, str]]:
    return [(e.text, e.label_) for e in nlp(text).ents]


def token(doc, text: str):
    return next(t for t in doc if t.text == text)


# -- words ----------------------------------------------------------------------------------


def test_the_component_is_in_the_light_pipeline(nlp) -> None:
    assert LIGHT_TAGS in nlp.pipe_names
    assert nlp("") is not None  # an empty text is fine


def test_function_words_verbs_and_nouns(nlp) -> None:
    found = tags(nlp, "She told the reporters that officials in the capital have said nothing.")
    assert found["She"] == ("PRON", "PRP")
    assert found["the"][0] == "DET"
    assert found["told"][0] == "VERB" and found["said"][0] == "VERB"
    assert found["have"][0] == "AUX"
    assert found["in"][0] == "ADP"
    assert found["reporters"] == ("NOUN", "NNS") and found["capital"] == ("NOUN", "NN")


def test_lemmas_give_description_heads(nlp) -> None:
    doc = nlp("The officials said the parties told us.")
    assert token(doc, "officials").lemma_ == "official"
    assert token(doc, "parties").lemma_ == "party"
    assert token(doc, "told").lemma_ == "tell"


def test_capitalised_words_are_proper_nouns_except_common_words_opening_a_sentence(nlp) -> None:
    doc = nlp("Critics said the plan would fail. Mr. Okafor agreed with critics in Lagos.")
    assert token(doc, "Critics").pos_ == "NOUN" and token(doc, "Critics").tag_ == "NNS"
    assert token(doc, "Okafor").pos_ == "PROPN"
    assert token(doc, "Lagos").pos_ == "PROPN"


def test_words_in_a_title_case_headline_are_read_like_sentence_openers(nlp) -> None:
    doc = nlp("Farmers Fear Another Dry Summer\nThe farmers said the summer would be dry.")
    assert token(doc, "Farmers").pos_ == "NOUN"  # written in lower case in the body
    assert not [e for e in doc.ents if e.label_ == "PERSON"]


def test_a_headline_word_the_story_never_repeats_is_no_name(nlp) -> None:
    story = "\n\nResidents were told to leave early, the commissioner said."
    doc = nlp("Bushfire warning as heatwave grips south-east" + story)
    assert token(doc, "Bushfire").pos_ == "NOUN" and not doc.ents
    # a name the story repeats, an acronym, a place, or a long first line (a paragraph, not a headline)
    assert token(nlp("Okafor warns of floods" + story.replace("the commissioner", "Okafor")), "Okafor").pos_ == "PROPN"
    assert token(nlp("GOP warns of floods" + story), "GOP").pos_ == "PROPN"
    assert token(nlp("Washington sends aid" + story), "Washington").pos_ == "PROPN"  # a listed place
    paragraph = "Okafor warned of floods on Monday as " + "heavy rain fell and rivers rose " * 5 + "in the north."
    assert token(nlp(paragraph + story), "Okafor").pos_ == "PROPN"


def test_participles_and_ly_words_before_a_noun_are_adjectives(nlp) -> None:
    found = tags(nlp, "A retired general and the family of a deadly storm's victim spoke.")
    assert found["retired"][0] == "ADJ"
    assert found["family"][0] == "NOUN"
    assert found["deadly"][0] == "ADJ"


# -- entities -------------------------------------------------------------------------------


def test_a_known_first_name_starts_a_person(nlp) -> None:
    assert ("Mark Ellison", "PERSON") in ents(nlp, "Secretary of State Mark Ellison arrived in Vienna.")


def test_a_title_announces_a_person(nlp) -> None:
    found = ents(nlp, "Mr. Okafor and Foreign Minister Ndlovu met the Secretary of State Brandt.")
    assert ("Okafor", "PERSON") in found and ("Ndlovu", "PERSON") in found and ("Brandt", "PERSON") in found
    # a title word as a last name after an honorific, and after a first name
    assert ("King", "PERSON") in ents(nlp, "Mr. King said he would stay.")
    assert ("Larry King", "PERSON") in ents(nlp, "Larry King said he would stay.")


def test_a_last_name_alone_is_a_person_once_the_article_named_them(nlp) -> None:
    found = ents(nlp, "Ellison was late. Secretary of State Mark Ellison arrived in Vienna. Ellison said no.")
    assert found.count(("Ellison", "PERSON")) == 2
    # an unknown first name before a last name the article gave with an honorific
    assert ("Laurence H. Tribe", "PERSON") in ents(nlp, "Mr. Tribe disagreed. Laurence H. Tribe said so.")


def test_a_capitalised_word_is_not_a_person_without_evidence(nlp) -> None:
    found = ents(nlp, "Washington sent a delegation. Vienna answered. Okafor Mbeki replied.")
    assert not [e for e in found if e[1] == "PERSON"]
    assert ("Washington", "GPE") in found and ("Vienna", "GPE") in found


def test_an_apposition_vouches_for_a_name(nlp) -> None:
    assert ("Chidi Okafor", "PERSON") in ents(nlp, "Chidi Okafor, an economist at the bank, said so.")
    assert ("Chidi Okafor", "PERSON") in ents(nlp, "Chidi Okafor, who runs the bank, said so.")
    assert ("Lois Quade", "PERSON") in ents(nlp, "The Riverside Gazette's Lois Quade wrote it.")
    # a role noun and a comma before the name vouch for it too
    assert ("Okafor Mbeki", "PERSON") in ents(nlp, "The city's mayor, Okafor Mbeki, said so.")
    assert ("Okafor Mbeki", "PERSON") in ents(nlp, "It was hard, said his campaign manager, Okafor Mbeki.")
    assert ("Okafor Mbeki", "PERSON") not in ents(nlp, "The city's mayor, Okafor Mbeki Holdings and a bank.")
    assert ("Okafor Mbeki", "PERSON") not in ents(nlp, "The city, Okafor Mbeki, said so.")  # no role


def test_a_role_in_apposition_names_the_speaker() -> None:
    """"the city's mayor, Okafor Mbeki": the light parse hangs the name elsewhere, but the
    speaker is the name and the role its title."""
    text = "According to the city's mayor, Okafor Mbeki, three people were killed.\n"
    start = text.index("the city's")
    source = Span.of(text, start, text.index(", three"))
    content = Span.of(text, text.index("three"), len(text) - 2)
    (resolved,), speakers = resolve(annotate(clean(text), light_nlp()), [Attribution(content=content, source=source)])
    speaker = next(s for s in speakers if s.id == resolved.speaker_id)
    assert (speaker.name, speaker.named, speaker.title) == ("Okafor Mbeki", True, "city's mayor")


def test_a_sports_title_before_a_name() -> None:
    """"Manchester City manager Pep Guardiola", "United boss Erik ten Hag": the role words make
    the name a person and the title; a later surname, honorific or pronoun is the same speaker."""
    text = ("Manchester City manager Pep Guardiola said they were tired.\n\n"
            "United boss Erik ten Hag admitted they were second best.\n\n"
            "He said it was hard. Mr ten Hag added that the captain was fit. Guardiola said no.\n")
    extraction = Pipeline(model="fast")(article_from_text(text))
    by_source = {}
    for attribution in extraction.attributions:
        speaker = extraction.speaker(attribution.speaker_id)
        by_source[attribution.source.text] = (speaker.name, speaker.title)
    assert by_source["Manchester City manager Pep Guardiola"] == ("Pep Guardiola", "Manchester City manager")
    assert by_source["United boss Erik ten Hag"] == ("Erik ten Hag", "United boss")
    assert by_source["He"][0] == by_source["Mr ten Hag"][0] == "Erik ten Hag"
    assert by_source["Guardiola"][0] == "Pep Guardiola"


def test_organisations_and_places(nlp) -> None:
    found = ents(nlp, "The State Department and the Department of Veterans Affairs wrote to the Committee "
                      "for a Responsible Federal Budget in Kent County.")
    assert ("State Department", "ORG") in found
    assert ("Department of Veterans Affairs", "ORG") in found
    assert ("Committee for a Responsible Federal Budget", "ORG") in found
    assert ("Kent County", "GPE") in found  # Kent is a first name, but this is a place
    found = ents(nlp, "John Jay College hired Mark Ellison.")
    assert ("John Jay College", "ORG") in found and ("Mark Ellison", "PERSON") in found


def test_two_names_joined_by_and_stay_two(nlp) -> None:
    found = ents(nlp, "Israel and Hamas agreed. Talks with Ryan and Senate leaders began.")
    assert ("Israel", "GPE") in found and ("Hamas", "ORG") in found
    assert not [e for e in found if " and " in e[0]]
    # a multi-word organisation still takes a name before "and"
    assert ("Central and East European Coalition", "ORG") in ents(nlp, "The Central and East European Coalition met.")


def test_a_day_after_an_organisation_is_a_date(nlp) -> None:
    found = ents(nlp, "He told the Security Council on Wednesday and CBS News on Super Tuesday.")
    assert ("Security Council", "ORG") in found and ("Wednesday", "DATE") in found
    assert ("CBS News", "ORG") in found
    assert ("Committee on Foreign Relations", "ORG") in ents(nlp, "He wrote to the Committee on Foreign Relations.")


def test_a_company_suffix_makes_an_organisation(nlp) -> None:
    assert ("Siemens AG", "ORG") in ents(nlp, "Prices fell. Siemens AG plans to cut jobs.")
    assert ("Barclays PLC", "ORG") in ents(nlp, "Shares in Barclays PLC fell.")


def test_a_particle_inside_a_name(nlp) -> None:
    """'ten' is a number word, but between a first name and a capitalised word it is a name part."""
    assert ("Erik ten Hag", "PERSON") in ents(nlp, "Coach Erik ten Hag said so.")
    assert ("Virgil van Dijk", "PERSON") in ents(nlp, "Virgil van Dijk said so.")


@pytest.mark.parametrize("name", ["Olaf Scholz", "Recep Tayyip Erdogan", "Narendra Modi", "Sadiq Khan", "Giorgia Meloni"])
def test_international_first_names_start_a_person(nlp, name: str) -> None:
    assert (name, "PERSON") in ents(nlp, f"Later {name} said the talks had failed.")


def test_plural_groups_are_norp_and_nationalities_adjectives(nlp) -> None:
    doc = nlp("Republicans said the Russian Foreign Minister Sergey Lavrov was wrong.")
    assert ("Republicans", "NORP") in [(e.text, e.label_) for e in doc.ents]
    assert token(doc, "Republicans").tag_ == "NNPS"
    assert token(doc, "Russian").pos_ == "ADJ"
    assert ("Sergey Lavrov", "PERSON") in [(e.text, e.label_) for e in doc.ents]


def test_an_abbreviated_title_does_not_end_the_sentence(nlp) -> None:
    doc = nlp("Retired Lt. Gen. Michael Flynn said it. He left.")
    assert [s.text for s in doc.sents] == ["Retired Lt. Gen. Michael Flynn said it.", "He left."]
    assert ("Michael Flynn", "PERSON") in [(e.text, e.label_) for e in doc.ents]


# -- the shallow parse ----------------------------------------------------------------------


def test_sentences_stay_as_the_sentencizer_split_them(nlp) -> None:
    text = 'The mayor said no. "We will see," Mr. Okafor said, adding that talks, which began in May, go on. Done.'
    plain = spacy.blank("en")
    plain.add_pipe("sentencizer")
    assert [s.text for s in nlp(text).sents] == [s.text for s in plain(text).sents]


def test_the_head_of_a_mention_is_its_first_noun_phrase(nlp) -> None:
    doc = nlp("Scott Pruitt, the attorney general of Oklahoma, said the rules were illegal.")
    pruitt = token(doc, "Pruitt")
    assert pruitt.dep_ == "nsubj" and pruitt.head.text == "said"
    assert token(doc, "general").head == pruitt and token(doc, "general").dep_ == "appos"
    assert token(doc, "Oklahoma").head.text == "of"


def test_coordination_relative_clauses_and_subjects(nlp) -> None:
    doc = nlp("Okafor and Ndlovu met Chidi Okafor, who heads the bank.")
    assert token(doc, "Ndlovu").dep_ == "conj" and token(doc, "Ndlovu").head.i == 0
    heads = token(doc, "heads")
    assert heads.dep_ == "relcl" and heads.head.text == "Okafor" and token(doc, "who").head == heads
    doc = nlp("Secretary of State Mark Ellison arrived in Vienna.")
    assert token(doc, "Ellison").dep_ == "nsubj"
    assert [t.text for t in doc.ents[0].root.subtree][:5] == ["Secretary", "of", "State", "Mark", "Ellison"]


# -- the resolver on the light annotation ---------------------------------------------------


@pytest.mark.parametrize("annotation", ["light", "spacy"])
def test_different_descriptions_stay_different_speakers(annotation: str) -> None:
    """"the former diplomat" is not "the top US diplomat"; "the diplomat" may be either."""
    text = ('"The facts are clear," the top US diplomat said. "Nobody wants another winter," '
            'the former diplomat said. "We need heat," the diplomat added.')
    annotated = annotate(clean(text), light_nlp() if annotation == "light" else load_nlp())
    attributions = []
    for mention, content in (("the top US diplomat", '"The facts are clear,"'),
                             ("the former diplomat", '"Nobody wants another winter,"'),
                             ("the diplomat added", '"We need heat,"')):
        start = text.index(mention)
        source = mention.removesuffix(" added")
        attributions.append(Attribution(content=annotated.span(text.index(content), text.index(content) + len(content)),
                                        source=annotated.span(start, start + len(source))))
    resolved, speakers = resolve(annotated, attributions)
    top, former, plain = (a.speaker_id for a in resolved)
    assert top != former and plain == former
    assert not any(s.named for s in speakers)


ARTICLE = """Talks on Grain Exports Stall in Vienna

Secretary of State Mark Ellison arrived in Vienna on Tuesday for a second round of talks. "We are not leaving without a deal," Ellison said.

"The farmers cannot wait another season," the secretary of state told reporters after the meeting. He said that the ministers would meet again on Friday.

Washington sent a delegation of twelve officials. "Nobody here wants another winter like the last one," the former diplomat said.
"""


def test_the_fast_pipeline_resolves_names_titles_and_pronouns() -> None:
    assert (DEFAULT_MODEL_DIR / MODEL_FILE).is_file(), "the fast model (models/fast) is missing"
    extraction = Pipeline(model="fast")(article_from_text(ARTICLE))
    by_source = {}
    for attribution in extraction.attributions:
        speaker = extraction.speaker(attribution.speaker_id)
        by_source[attribution.source.text] = (speaker.name if speaker and speaker.named else None,
                                              attribution.resolution.method.value)
    assert by_source["Ellison"] == ("Mark Ellison", "surname")
    assert by_source["the secretary of state"] == ("Mark Ellison", "title")
    assert by_source["He"] == ("Mark Ellison", "pronoun")
    assert by_source["the former diplomat"][0] is None  # never named: no one else's name
    assert "Washington" not in {s.name for s in extraction.speakers}


def test_the_example_article_keeps_its_speakers_apart() -> None:
    """examples/damaged.txt: "He told reporters" is Mark Ellison's and "the former diplomat" stays
    a speaker of their own, as with the full spaCy pipeline."""
    text = (Path(__file__).resolve().parents[1] / "examples" / "damaged.txt").read_text(encoding="utf-8")
    extraction = Pipeline(model="fast")(article_from_text(text))
    speakers = {}
    for attribution in extraction.attributions:
        if attribution.source is not None:
            speakers[attribution.source.text] = extraction.speaker(attribution.speaker_id)
    assert speakers["He"].name == "Mark Ellison"
    assert speakers["the top US diplomat"].name == "Mark Ellison"  # "Secretary of State Mark Ellison"
    assert speakers["the former diplomat"].name == "the former diplomat" and not speakers["the former diplomat"].named
    assert speakers["Petrov"].name == "Ivan Petrov"
