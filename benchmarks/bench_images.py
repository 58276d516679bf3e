"""Preparing a 4,000×3,000 photo for a vision model (issue 21): agents.models.image_prep.prepare against Pillow's own
thumbnail + encode of the same file in the same run (target: ≤ 150 ms and ≤ 1.2× the baseline).

Run: python benchmarks/bench_images.py [--rounds R]
The photo is a JPEG made here (smooth gradients with grain, like a camera's, about 3 MB). prepare checks the bytes,
decodes (a JPEG at 1/2, 1/4 or 1/8 scale when that still covers the target), scales to K2.5's pixel budget, applies
EXIF rotation and re-encodes; the baseline is `Image.open`,
`thumbnail` to the same size and `save` as JPEG at the same quality. Rounds alternate the two; the median counts.
Prints `name: ratio` lines and the milliseconds of each side.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageFilter

from agents.models.image_prep import JPEG_QUALITY, prepare, target_size
from agents.models.presets import K25_VISION

TARGET_RATIO = 1.2
TARGET_MS = 150.0
SIZE = (4000, 3000)


def photo() -> bytes:
    """A camera-like 12 MP JPEG: colour gradients, blurred shapes and grain."""
    gradient = Image.linear_gradient("L").resize(SIZE)
    noise = Image.effect_noise(SIZE, 40).filter(ImageFilter.GaussianBlur(1))
    image = Image.merge("RGB", (gradient, noise, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def baseline(data: bytes) -> float:
    started = time.perf_counter()
    image = Image.open(io.BytesIO(data))
    image.thumbnail(target_size(*image.size, K25_VISION.max_pixels))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return time.perf_counter() - started


def ours(data: bytes) -> float:
    started = time.perf_counter()
    prepared = prepare(data, max_pixels=K25_VISION.max_pixels, types=K25_VISION.types)
    elapsed = time.perf_counter() - started
    assert prepared.width * prepared.height <= K25_VISION.max_pixels
    return elapsed


def ours_cpu(data: bytes) -> float:
    """CPU seconds of one prepare (what a busy machine's wall clock hides: other processes' share)."""
    started = time.process_time()
    prepare(data, max_pixels=K25_VISION.max_pixels, types=K25_VISION.types)
    return time.process_time() - started


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args(argv)
    data = photo()
    baseline(data), ours(data)  # warm the decoders
    base_ms, our_ms, ratios = [], [], []
    for _ in range(args.rounds):
        b, o = baseline(data), ours(data)
        base_ms.append(b * 1000)
        our_ms.append(o * 1000)
        ratios.append(o / b)
    cpu_ms = statistics.median(ours_cpu(data) * 1000 for _ in range(args.rounds))
    ratio, ms = statistics.median(ratios), statistics.median(our_ms)
    print(f"photo_bytes: {len(data):,}")
    print(f"prepare_vs_pillow_thumbnail: {ratio:.2f}  (target ≤ {TARGET_RATIO}; "
          f"{'met' if ratio <= TARGET_RATIO else 'NOT met'})")
    print(f"prepare_ms: {ms:.1f}  (target ≤ {TARGET_MS:.0f}; {'met' if ms <= TARGET_MS else 'NOT met'})")
    print(f"prepare_cpu_ms: {cpu_ms:.1f}  (CPU time of this process; the wall time above includes waiting for a core)")
    print(f"pillow_thumbnail_ms: {statistics.median(base_ms):.1f}")
    print(f"load_average_1min: {os.getloadavg()[0]:.1f}  (on {os.cpu_count()} cores: milliseconds grow with it)")


if __name__ == "__main__":
    main()
