"""PICTURE strings and USAGE: category, digits, scale, sign and the storage size in bytes."""

from __future__ import annotations

import re
from dataclasses import dataclass

BINARY_USAGES = {
    "COMP",
    "COMPUTATIONAL",
    "BINARY",
    "COMP-4",
    "COMPUTATIONAL-4",
    "COMP-5",
    "COMPUTATIONAL-5",
    "COMP-X",
    "COMPUTATIONAL-X",
}
PACKED_USAGES = {"COMP-3", "COMPUTATIONAL-3", "PACKED-DECIMAL"}
USAGE_WORDS = (
    BINARY_USAGES
    | PACKED_USAGES
    | {
        "DISPLAY",
        "COMP-1",
        "COMPUTATIONAL-1",
        "COMP-2",
        "COMPUTATIONAL-2",
        "INDEX",
        "POINTER",
        "NATIONAL",
        "COMP-6",
        "COMPUTATIONAL-6",
    }
)
# Bytes of a binary item by digit count: IBM Enterprise COBOL (and GnuCOBOL -std=ibm) use 2-4-8; GnuCOBOL's default
# configuration uses 1-2-4-8. The data files of legacy systems were written by the former.
BINARY_SIZES = {"2-4-8": ((4, 2), (9, 4), (18, 8)), "1-2-4-8": ((2, 1), (4, 2), (9, 4), (18, 8))}


@dataclass(frozen=True)
class Picture:
    """What a PICTURE says about an item."""

    text: str
    category: str  # "alphanumeric", "alphabetic", "numeric", "numeric-edited", "alphanumeric-edited", "national"
    digits: int  # numeric: count of 9 (and P) positions
    scale: int  # digits after the implied or actual decimal point (negative with trailing P)
    signed: bool
    chars: int  # character positions of the DISPLAY form, S excluded


def expand(pic: str) -> str:
    """9(5)V99 -> 99999V99."""
    return re.sub(r"(.)\((\d+)\)", lambda m: m.group(1) * int(m.group(2)), pic.upper())


def parse_picture(pic: str) -> Picture:
    """Classify a PICTURE string (CR and DB count two positions)."""
    full = expand(pic)
    signed = full.startswith("S")
    body = full[1:] if signed else full
    chars = len(body.replace("V", "").replace("P", ""))
    if "N" in body:
        return Picture(pic, "national", 0, 0, False, chars)
    if set(body) <= set("9VP"):
        digits = body.count("9") + body.count("P")
        if "V" in body:
            scale = len(body.split("V", 1)[1].replace("V", ""))
        elif body.endswith("P"):
            scale = -(len(body) - len(body.rstrip("P")))
        else:
            scale = 0
        return Picture(pic, "numeric", digits, scale, signed, chars)
    if set(body) <= set("X"):
        return Picture(pic, "alphanumeric", 0, 0, False, chars)
    if set(body) <= set("A"):
        return Picture(pic, "alphabetic", 0, 0, False, chars)
    if "X" in body or "A" in body:
        return Picture(pic, "alphanumeric-edited", 0, 0, False, chars)
    # Numeric-edited: digit positions are 9 Z * and floating currency/sign symbols beyond the first.
    digit_pos = sum(body.count(c) for c in "9Z*")
    for sym in "$+-":
        n = body.count(sym)
        if n > 1:
            digit_pos += n - 1
    decimal = body.find(".") if "." in body else body.find("V")
    scale = sum(1 for c in body[decimal + 1 :] if c in "9Z*$+-") if decimal >= 0 else 0
    return Picture(
        pic, "numeric-edited", digit_pos, scale, "+" in body or "-" in body or "CR" in body or "DB" in body, chars
    )


def normal_usage(usage: str) -> str:
    """Canonical usage names: DISPLAY, COMP (binary), COMP-5, COMP-3 (packed), COMP-1, COMP-2, INDEX, POINTER."""
    u = usage.upper()
    if u in PACKED_USAGES:
        return "COMP-3"
    if u in ("COMP-5", "COMPUTATIONAL-5"):
        return "COMP-5"
    if u in BINARY_USAGES:
        return "COMP"
    return {"COMPUTATIONAL-1": "COMP-1", "COMPUTATIONAL-2": "COMP-2", "COMPUTATIONAL-6": "COMP-6"}.get(u, u)


def storage_size(picture: Picture | None, usage: str, sign_separate: bool = False, binary_size: str = "2-4-8") -> int:
    """Bytes one occurrence of an elementary item occupies."""
    usage = normal_usage(usage)
    if usage == "COMP-1":
        return 4
    if usage in ("COMP-2", "POINTER"):
        return 8
    if usage == "INDEX":
        return 4
    if picture is None:
        return 0
    if usage == "COMP-3":
        return picture.digits // 2 + 1
    if usage == "COMP-6":
        return (picture.digits + 1) // 2
    if usage in ("COMP", "COMP-5"):
        for limit, size in BINARY_SIZES.get(binary_size, BINARY_SIZES["2-4-8"]):
            if picture.digits <= limit:
                return size
        return 16
    if picture.category == "national":
        return picture.chars * 2
    return picture.chars + (1 if sign_separate and picture.signed else 0)
