"""Redaction speed (issue 22): a 100-page 10-K and single chat messages, against Presidio's own pipeline.

Targets: the 10-K's text redacted in ≤ 2 s and ≤ 1.3× Presidio's analyzer + anonymizer on the same text in the same
run; a chat message ≤ 20 ms p50.
  presidio  the baseline: Presidio's AnalyzerEngine with its stock recognizers for the entities it shares with ours
            (e-mail, phone for US/GB/FR, card, IBAN, US SSN) and its no-op NLP engine, then AnonymizerEngine's
            replace; tldextract is pointed at its bundled suffix list (as ours is) so nothing goes to the network
  ours      agents.privacy: Presidio with our recognizers, detect-secrets, the placeholder map in SQLite (values
            sealed with Fernet) and the known-value pass; a fresh redactor each time (no cache)
The text is the first 100 pages of a FinanceBench 10-K (../shared/data) when present, else a generated filing-like
text; 60 personal values and secrets are sprinkled into it so that the map has work to do.

Run: python benchmarks/bench_redaction.py [--pdf PATH] [--repeat N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_PDF = ROOT.parent / "shared" / "data" / "financebench" / "pdfs" / "3M_2018_10K.pdf"
SEEDS = ["jane.doe@example.com", "+1 415 555 0132", "4111 1111 1111 1111", "FR76 3000 6000 0112 3456 7890 189",
         "536-22-8145", "06 12 34 56 78", "aws_access_key_id = AKIAQ3EGRXT5ZLPV7NGA",
         "postgresql://app:Pg-s3cret-2024@db.internal:5432/crm", "Mr. John Smith", "221 Baker Street"]
MESSAGES = [
    "Hi, can you update the record of {name}? Her new e-mail is {email} and phone {phone}.",
    "Please summarise the attached contract in three bullet points.",
    "The refund goes to IBAN {iban}, card ending {card} was declined.",
    "Why does my query fail? DATABASE_URL=postgresql://svc:{pw}@10.0.0.5/app",
    "Write a Go function that parses ISO dates and returns the weekday.",
    "Customer: {name}, SSN {ssn}, lives at 12 rue de la Paix, 75002 Paris.",
]


def document(pdf: Path) -> tuple[str, str]:
    """(text, where it came from)."""
    rng = random.Random(7)
    if pdf.is_file():
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(str(pdf))
        pages = [doc[i].get_textpage().get_text_range() for i in range(min(100, len(doc)))]
        source = f"{pdf.name}, {len(pages)} pages"
    else:
        words = "revenue operating income segment fiscal year million net sales cash flow debt tax".split()
        pages = [" ".join(rng.choice(words) for _ in range(600)) + f" {rng.randint(1000, 99999):,}" for _ in range(100)]
        source = "generated filing-like text, 100 pages (../shared data absent)"
    for i in range(60):
        page = rng.randrange(len(pages))
        pages[page] += f"\nContact: {SEEDS[i % len(SEEDS)]}\n"
    return "\n\n".join(pages), source


def messages(count: int) -> list[str]:
    rng = random.Random(11)
    out = []
    for i in range(count):
        out.append(MESSAGES[i % len(MESSAGES)].format(
            name=rng.choice(["Jane Doe", "Marie Curie", "Ada Lovelace"]), email=f"user{i}@example.com",
            phone=f"+1 415 555 {1000 + i:04d}", iban="GB82 WEST 1234 5698 7654 32", card="4111 1111 1111 1111",
            pw=f"pw-{i:05d}-secret", ssn="536-22-8145"))
    return out


def presidio_baseline():  # noqa: ANN201 - returns a closure over Presidio objects
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer
    from presidio_anonymizer import AnonymizerEngine

    from agents.privacy import recognizers

    tldextract.extract = recognizers._OFFLINE_TLD  # the stock e-mail check, without its download
    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    nlp.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp)
    registry.remove_recognizer("PhoneRecognizer")
    registry.add_recognizer(PhoneRecognizer(supported_regions=("US", "GB", "FR")))
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])
    anonymizer = AnonymizerEngine()
    entities = ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN"]

    def run(text: str) -> str:
        return anonymizer.anonymize(text, analyzer.analyze(text, language="en", entities=entities)).text

    return run


def ours(tmp: Path):  # noqa: ANN201 - returns a closure over a database
    from agents.privacy.kinds import DEFAULT_KINDS
    from agents.privacy.redactor import Redactor
    from agents.privacy.vault import Vault
    from storage import repo
    from storage.db import Database

    db = Database(f"sqlite:///{tmp / 'bench.db'}")

    def run(text: str, fresh: bool = True) -> str:
        # A new conversation for the document (its values all new); chat messages share one conversation and its
        # vault, as the turns of a chat do (new values are still written, sealed, to the database).
        vault = Vault(db, tmp, repo.create_conversation(db, "bench").id) if fresh else chat
        return Redactor(vault, DEFAULT_KINDS).redact(text)

    chat = Vault(db, tmp, repo.create_conversation(db, "chat").id)
    return run


def timed(fn, arg: str, repeat: int) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pdf", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the 10-K per pipeline (best is kept)")
    args = parser.parse_args()
    text, source = document(args.pdf)
    print(f"document: {source}, {len(text):,} characters")
    with tempfile.TemporaryDirectory() as tmp:
        baseline, mine = presidio_baseline(), ours(Path(tmp))
        baseline("warm up 4111 1111 1111 1111"), mine("warm up jane@example.com")
        presidio_s = timed(baseline, text, args.repeat)
        ours_s = timed(mine, text, args.repeat)
        chat = messages(200)
        ours_ms = [timed(lambda t: mine(t, fresh=False), m, 1) * 1000 for m in chat]
        presidio_ms = [timed(baseline, m, 1) * 1000 for m in chat]
    print(f"presidio_10k_s: {presidio_s:.3f}")
    print(f"redact_10k_s: {ours_s:.3f}   (target ≤ 2 s)")
    print(f"redact_10k_vs_presidio: {ours_s / presidio_s:.2f}   (target ≤ 1.3)")
    print(f"presidio_message_p50_ms: {statistics.median(presidio_ms):.2f}")
    print(f"redact_message_p50_ms: {statistics.median(ours_ms):.2f}   (target ≤ 20 ms)")
    print(f"redact_message_p95_ms: {statistics.quantiles(ours_ms, n=20)[-1]:.2f}")
    print(f"redact_message_vs_presidio: {statistics.median(ours_ms) / statistics.median(presidio_ms):.2f}")


if __name__ == "__main__":
    main()
