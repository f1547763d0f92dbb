"""Invented news texts for the ingest tests: every name, place and event here is made up.

``article(i)`` gives a different short English news article for each ``i`` (names, places and
numbers vary), long enough to pass the news-likeness filter and with quotations to extract.
"""

from __future__ import annotations

import io
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

DATA = Path(__file__).resolve().parent / "data" / "ingest"
PAGE = DATA / "page.html"

FIRST = ["Marta", "Tomas", "Priya", "Owen", "Lucia", "Kwame", "Ingrid", "Rafael", "Sana", "Declan", "Yuki", "Amara"]
LAST = ["Okafor", "Lindqvist", "Natarajan", "Hale", "Moreno", "Mensah", "Berg", "Castillo", "Qureshi", "Byrne", "Sato", "Obi"]
TOWNS = ["Millbrook", "Eastwater", "Kestrel Bay", "Ashford Vale", "Port Lenning", "Greyhaven", "Oakmere", "Selby Cross"]
TOPICS = [
    ("the harbour ferry", "add two evening sailings"),
    ("the town library", "open on Sunday afternoons"),
    ("the bus depot", "buy six electric buses"),
    ("the river path", "repair the flood wall"),
    ("the market square", "ban cars on Saturdays"),
    ("the primary school", "replace the leaking roof"),
]


def article(i: int) -> str:
    first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
    town = TOWNS[(i // 3) % len(TOWNS)]
    place, plan = TOPICS[i % len(TOPICS)]
    votes = 5 + i % 17
    return (
        f"The {town} council voted {votes} to 3 on Wednesday to {plan}, ending a dispute over {place} "
        f"that had run for most of the winter.\n\n"
        f"{first} {last}, who chairs the committee, said the change would help people who work late shifts. "
        f"\"Residents have waited long enough for a decision that fits their working lives,\" {last} told the meeting.\n\n"
        f"Opponents argued that the plan would cost more than the council could afford this year, and one "
        f"member said the money should go to road repairs instead. The work is due to start in April, "
        f"the council said in a statement, and will be reviewed after {votes + 1} months."
    )


FRENCH = (
    "Le conseil municipal a voté mercredi pour ajouter deux traversées en soirée au ferry de l'île, "
    "mettant fin à un différend qui durait depuis la majeure partie de l'hiver. La présidente du comité "
    "a déclaré que ce changement aiderait les infirmières et le personnel des magasins à rentrer chez eux "
    "après leur service. « Les habitants de l'île ont assez attendu », a-t-elle dit lors de la réunion. "
    "Les nouveaux horaires entreront en vigueur au mois d'avril, selon un communiqué du conseil."
)

TEASER = "Council approves new ferry timetable. Read more."

LINK_LIST = " ".join(
    f"Home News Sport Weather Subscribe Contact Terms Privacy Archive Section{i}" for i in range(8)
)  # many words, no sentence at all: a page of links


def _html_page(body: str, lang: str = "en") -> bytes:
    return (f"<!DOCTYPE html><html lang='{lang}'><head><title>Story</title></head><body>"
            f"<nav><a href='/'>Home</a> <a href='/news'>News</a></nav><article><h1>Story</h1>"
            + "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
            + "</article><footer>Contact us</footer></body></html>").encode("utf-8")


def write_warc(path: Path, gzipped: bool) -> None:
    """A crawl as crawlers write it: warcinfo, request/response pairs, non-HTML and failed responses."""
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=gzipped)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "quotegraph tests"}))

        def response(url: str, payload: bytes, content_type: str, status: str = "200 OK", date: str = "2024-05-01T10:00:00Z") -> None:
            request = writer.create_warc_record(url, "request", payload=io.BytesIO(b""),
                                                http_headers=StatusAndHeaders(f"GET {url} HTTP/1.1", [], is_http_request=True))
            writer.write_record(request)
            headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(payload), http_headers=headers,
                                               warc_headers_dict={"WARC-Date": date})
            writer.write_record(record)

        response("https://courier.example/news/ferry", PAGE.read_bytes(), "text/html; charset=utf-8")
        response("https://courier.example/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(200), "image/png")
        response("https://courier.example/missing", _html_page(article(2)), "text/html", status="404 Not Found")
        response("https://courier.example/news/library", _html_page(article(20)), "text/html", date="2024-05-02T11:30:00Z")
        response("https://courier.example/app.js", b"console.log(1)", "application/javascript")
        writer.write_record(writer.create_warc_record("https://courier.example/news/ferry", "metadata",
                                                      payload=io.BytesIO(b"outlinks: none"), warc_content_type="text/plain"))
