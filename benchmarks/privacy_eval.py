"""Precision and recall of the redaction detector per kind on benchmarks/privacy_labelled.py (in-sample figures).

A found value counts as right when its kind matches a labelled span it overlaps by at least half of the longer one.

Run: python benchmarks/privacy_eval.py
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.privacy import detector  # noqa: E402
from agents.privacy.kinds import DEFAULT_KINDS  # noqa: E402
from benchmarks.privacy_labelled import SENTENCES, parse  # noqa: E402


def _match(a: tuple[int, int], b: tuple[int, int]) -> bool:
    overlap = min(a[1], b[1]) - max(a[0], b[0])
    return overlap > 0 and overlap * 2 >= max(a[1] - a[0], b[1] - b[0])


def score() -> dict[str, tuple[int, int, int]]:
    """kind -> (true positives, false positives, false negatives) over the labelled set."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for sentence in SENTENCES:
        text, gold = parse(sentence)
        found = [(f.start, f.end, f.kind) for f in detector.find(text, DEFAULT_KINDS)]
        for start, end, kind in found:
            if any(k == kind and _match((start, end), (s, e)) for s, e, k in gold):
                tp[kind] += 1
            else:
                fp[kind] += 1
        for start, end, kind in gold:
            if not any(k == kind and _match((start, end), (s, e)) for s, e, k in found):
                fn[kind] += 1
    kinds = sorted(set(tp) | set(fp) | set(fn))
    return {k: (tp[k], fp[k], fn[k]) for k in kinds}


def main() -> None:
    table = score()
    print("kind         precision  recall   (tp fp fn)   in-sample")
    for kind, (tp, fp, fn) in table.items():
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        print(f"{kind:<12} {precision:9.2f} {recall:7.2f}   ({tp} {fp} {fn})")
    tp, fp, fn = (sum(v[i] for v in table.values()) for i in range(3))
    print(f"all          {tp / (tp + fp):9.2f} {tp / (tp + fn):7.2f}   ({tp} {fp} {fn})")


if __name__ == "__main__":
    main()
