"""Scoring FinanceBench answers: numbers with a tolerance after scale normalisation, text answers by a judge model.

A numeric gold ('$1577.00', '30.8%', '93.86') is matched when any amount of the answer equals it within the relative
tolerance, after both are normalised: scale words ('1.58 billion', '$1,577 million', '1.6bn'), the scale the
question asks for ('in USD millions': a bare '1577' is millions), percentages written as fractions (0.308 = 30.8%).
Other golds are judged by a model with the prompt in benchmarks/financebench_judge.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

JUDGE_PROMPT = Path(__file__).with_name("financebench_judge.md")
_AMOUNT = re.compile(
    r"(?P<neg>-|−|\()?\s?\$?\s?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\)?\s?"
    r"(?:(?P<pct>%|percent\b)|(?P<scale>thousands?\b|millions?\b|billions?\b|trillions?\b|bn\b|mn\b|m\b|b\b|k\b))?",
    re.IGNORECASE,
)
_SCALES = {"thousand": 3, "k": 3, "million": 6, "mn": 6, "m": 6, "billion": 9, "bn": 9, "b": 9, "trillion": 12}
_ASKED_SCALE = re.compile(r"\b(?:in|usd|us\$|\$)\s*(?:usd\s+)?(thousands|millions|billions)\b", re.IGNORECASE)
_CITED = re.compile(r"\b(?:p(?:age)?s?\.?)\s*(\d{1,4})(?:\s*(?:,|and|-|–)\s*(\d{1,4}))*", re.IGNORECASE)


@dataclass(frozen=True)
class Amount:
    """A number as written, its power of ten from a scale word, and whether it is a percentage."""

    value: Decimal
    exponent: int
    percent: bool


def amounts(text: str) -> list[Amount]:
    """Every amount in a text, in order."""
    out = []
    for m in _AMOUNT.finditer(text or ""):
        try:
            value = Decimal(m.group("num").replace(",", ""))
        except InvalidOperation:
            continue
        if m.group("neg"):
            value = -value
        scale = (m.group("scale") or "").lower().rstrip("s") if m.group("scale") else ""
        out.append(Amount(value, _SCALES.get(scale, _SCALES.get((m.group("scale") or "").lower(), 0)), bool(m.group("pct"))))
    return out


def is_numeric(gold: str) -> bool:
    """A gold answer that is a number (perhaps with a few words): scored by value, not by a judge."""
    found = amounts(gold)
    words = re.findall(r"[A-Za-z]{3,}", gold)
    return bool(found) and len(words) <= 3


def numeric_match(answer: str, gold: str, question: str, tolerance: float) -> bool:
    """Whether the answer states the gold number (see the module docstring)."""
    golds = amounts(gold)
    if not golds:
        return False
    target = golds[0]
    asked = _ASKED_SCALE.search(question)
    asked_exponent = _SCALES[asked.group(1).lower().rstrip("s")] if asked else 0
    gold_exponent = target.exponent or asked_exponent
    wanted = target.value.scaleb(gold_exponent)
    limit = abs(wanted) * Decimal(str(tolerance))
    for amount in amounts(answer):
        readings = {amount.value.scaleb(amount.exponent or asked_exponent)}
        if not amount.exponent:
            readings.add(amount.value.scaleb(gold_exponent))
        if target.percent and not amount.percent:
            readings.add(amount.value * 100)  # 0.308 written for 30.8%
        if any(abs(abs(r) - abs(wanted)) <= limit and (r < 0) == (wanted < 0) or
               (target.percent and abs(r - wanted) <= limit) for r in readings):  # fmt: skip
            return True
    return False


def cited_pages(answer: str) -> set[int]:
    """Pages an answer cites: 'p.37', 'page 37', '[DOC p. 37]', 'pages 37 and 40'."""
    pages = set()
    for m in _CITED.finditer(answer or ""):
        pages.update(int(n) for n in re.findall(r"\d{1,4}", m.group(0)))
    return pages


def non_answer(answer: str) -> bool:
    """No answer at all: empty, or only a tool call the model wrote as text (small models do) — never sent to the
    judge, which a small model can get wrong."""
    text = (answer or "").strip().strip("`").removeprefix("json").strip()
    if not text:
        return True
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(data, dict) and "name" in data and ("arguments" in data or "parameters" in data)


def judge_messages(question: str, gold: str, answer: str) -> list[dict[str, str]]:
    """The judge's conversation: the prompt in financebench_judge.md filled in."""
    prompt = JUDGE_PROMPT.read_text(encoding="utf-8")
    filled = prompt.replace("{question}", question).replace("{gold}", gold).replace("{answer}", answer or "(empty)")
    return [{"role": "user", "content": filled}]


def judge_verdict(reply: str) -> bool | None:
    """True/False from the judge's JSON reply ({"correct": true, ...}); None when it cannot be read."""
    m = re.search(r"\{.*\}", reply or "", re.DOTALL)
    if m:
        try:
            data = json.loads(m.group(0))
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("correct"), bool):
            return data["correct"]
    low = (reply or "").strip().lower()
    if low.startswith(("correct", "yes")):
        return True
    if low.startswith(("incorrect", "no")):
        return False
    return None
