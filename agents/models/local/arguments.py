"""Argument repair and checking for a small model's tool calls, done by code before the hub validates them.

Measured on 70 BFCL questions, the 0.5B model's calls fail on values, not on format: magnitudes ("50 million" →
500000000), numbers written as words or strings, `"type": "string"` copied from the schema as a value. What code can
decide deterministically it fixes here, against the schema and the user's own words:

- a number or integer field holding text ("50 million", "1,200", "$3.5 billion", "twelve") becomes the number;
- a number whose magnitude is off by a power of ten from a number the user wrote (and which the user did not write
  itself) becomes the user's number (from 1,000 up: below, 0.5 and 5 are both plausible);
- arguments wrapped in the schema's own shape (`{"properties": {...}, "type": "object"}`) are unwrapped, and a value
  that is just its parameter's type name (`"string"`) is dropped;
- a required parameter missing while the call holds parameters the tool does not have (measured: the 0.5B model
  calls sandbox__run_python with the system prompt's example names, `{"path": "sum.py", "content": "print(…)"}`,
  for its one parameter `code`) takes the value of the unknown one of its type (the longest when several); the
  other unknown ones are dropped;
- then the arguments are checked against the schema; the first problem is named with its exact field, so the model
  can be asked once to fix it (adapter.review).
"""

from __future__ import annotations

import math
import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

SCALES = {"hundred": 1e2, "thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "mio": 1e6,
          "billion": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12, "tn": 1e12}
MAGNITUDE_FLOOR = 1000.0
SCHEMA_WORDS = frozenset({"string", "integer", "number", "boolean", "object", "array", "str", "int", "float", "dict"})
_UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                     "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split(), 0)
         if w != "_"}
_NUMERIC = re.compile(r"^\s*(?P<sign>-)?\s*[$€£]?\s*(?P<num>\d[\d,]*(?:\.\d+)?|\.\d+)\s*(?P<scale>[a-z]+)?\s*%?\s*$",
                      re.I)
_IN_TEXT = re.compile(r"(?<![\w.])(?P<num>\d[\d,]*(?:\.\d+)?)(?:\s*(?P<scale>hundred|thousand|million|billion|"
                      r"trillion|bn|mn|k)\b)?", re.I)


def number_from_text(text: str) -> float | None:
    """"50 million" → 5e7, "1,200" → 1200, "$3.5bn" → 3.5e9, "twenty five thousand" → 25000; None if not a number."""
    m = _NUMERIC.match(text)
    if m:
        scale = (m.group("scale") or "").lower()
        if scale and scale not in SCALES:
            return None
        value = float(m.group("num").replace(",", "")) * SCALES.get(scale, 1.0)
        return -value if m.group("sign") else value
    return _number_words(text)


def _number_words(text: str) -> float | None:
    parts = [p for p in re.split(r"[\s-]+", text.strip().lower()) if p and p != "and"]
    if not parts:
        return None
    total, current, seen = 0.0, 0.0, False
    for p in parts:
        if p in _UNITS or p in _TENS:
            current += _UNITS.get(p, _TENS.get(p, 0))
        elif re.fullmatch(r"\d+(\.\d+)?", p):
            current += float(p)
        elif p == "hundred":
            current = (current or 1) * 100
        elif p in SCALES and len(p) > 2:
            total += (current or 1) * SCALES[p]
            current = 0.0
        else:
            return None
        seen = True
    return total + current if seen else None


def numbers_in(text: str) -> list[float]:
    """The numbers a user wrote, scaled ("50 million" → 5e7, "2,500" → 2500)."""
    out = []
    for m in _IN_TEXT.finditer(text):
        try:
            value = float(m.group("num").replace(",", ""))
        except ValueError:
            continue
        out.append(value * SCALES.get((m.group("scale") or "").lower(), 1.0))
    return out


def _as_type(value: float, kinds: set[str]) -> float | int:
    # 5e7 is sent as 50000000: BFCL and most servers compare integers exactly; a fraction stays a float (an
    # integer field then fails validation and the model is asked again).
    return int(value) if value.is_integer() else value


def _kinds(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()


def _fix_magnitude(value: float, said: list[float]) -> float:
    """The user's number when `value` is it times a power of ten (and the user never wrote `value` itself)."""
    if abs(value) < MAGNITUDE_FLOOR or any(math.isclose(value, s) for s in said):
        return value  # small numbers: 0.5 and 5 are both plausible, only big magnitudes get confused
    for s in said:
        if abs(s) < MAGNITUDE_FLOOR:
            continue
        ratio = math.log10(abs(value / s))
        if abs(ratio - round(ratio)) < 1e-9 and 1 <= abs(round(ratio)) <= 3:
            return math.copysign(abs(s), value)
    return value


def repair(args: Any, schema: dict[str, Any], request: str = "") -> Any:
    """Arguments with numbers normalised where the schema says number/integer (see the module docstring)."""
    said = numbers_in(request)
    props = schema.get("properties") or {}
    if isinstance(args, dict) and isinstance(args.get("properties"), dict) and "properties" not in props:
        args = args["properties"]  # the model wrote the schema's shape around its values: unwrap it
    args = _rename_unknown(args, schema)

    def fix(value: Any, node: dict[str, Any]) -> Any:
        if not isinstance(node, dict):
            return value
        kinds = _kinds(node)
        if kinds & {"number", "integer"} and not isinstance(value, bool):
            if isinstance(value, str):
                parsed = number_from_text(value)
                if parsed is not None:
                    return _as_type(parsed, kinds)
            elif isinstance(value, int | float):
                return _as_type(_fix_magnitude(float(value), said), kinds)
        if isinstance(value, dict):
            props = node.get("properties") or {}
            # `"type": "string"` copied from the schema as a value says nothing: left out, so validation asks for it.
            return {k: fix(v, props.get(k, {})) for k, v in value.items()
                    if not (isinstance(v, str) and v.lower() in SCHEMA_WORDS and v.lower() == str(
                        props.get(k, {}).get("type", "")).lower())}
        if isinstance(value, list) and isinstance(node.get("items"), dict):
            return [fix(v, node["items"]) for v in value]
        return value

    return fix(args, schema)


def _rename_unknown(args: Any, schema: dict[str, Any]) -> Any:
    """The one missing required parameter filled from a parameter the tool does not have (see the module docstring).
    Only when exactly one required parameter is missing: with several, which value goes where is a guess."""
    props = schema.get("properties") or {}
    if not isinstance(args, dict) or not isinstance(props, dict):
        return args
    unknown = [k for k in args if k not in props]
    missing = [k for k in schema.get("required") or [] if k in props and k not in args]
    if not unknown or len(missing) != 1:
        return args
    kinds = _kinds(props[missing[0]])
    fitting = [k for k in unknown if _fits(args[k], kinds)]
    if not fitting:
        return args
    source = max(fitting, key=lambda k: len(str(args[k])))
    return {**{k: v for k, v in args.items() if k in props}, missing[0]: args[source]}


def _fits(value: Any, kinds: set[str]) -> bool:
    checks = {"string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
              "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
              "array": lambda v: isinstance(v, list), "object": lambda v: isinstance(v, dict)}
    known = [checks[k] for k in kinds if k in checks]
    return not known or any(check(value) for check in known)


def problem(args: Any, schema: dict[str, Any]) -> str | None:
    """The first schema violation, naming its field ("`amount`: 'lots' is not of type 'number'"), or None."""
    try:
        validator = Draft202012Validator(schema)
        errors = sorted(validator.iter_errors(args), key=lambda e: (len(e.path), list(map(str, e.path))))
    except SchemaError:
        return None  # the server's schema itself is broken: the hub reports that
    if not errors:
        return None
    e = errors[0]
    where = ".".join(str(p) for p in e.absolute_path)
    if e.validator == "enum":
        return f"`{where}` must be exactly one of {e.validator_value} (choose one), not {e.instance!r}"
    return f"`{where or 'arguments'}`: {e.message}"
