"""Benchmark: rank intervals of 64 communes from 500 Rao–Wu bootstrap replicates, each kiosk
rating its own PSU — the chunked sparse path of :func:`scoring.ranks.replicate_scores` (what a
release build uses) against the dense reference (:func:`scoring.composites.replicate_values` on
the design's (#PSU × R) factors), at a size the dense path can still hold in memory, and the
fast path alone at a quarter of 1,000,000 ratings (one quarter of the portal benchmark's year).

    .venv/bin/python bench/bench_ranks.py [--ratings 250000] [--dense-ratings 20000]

Prints CPU seconds (``time.process_time``: the figures hold on a busy machine) and the ratio,
and checks that both paths give the same rank intervals. Not a test: run it by hand.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring.composites import LinearPlan, composite_value, ratios, replicate_values  # noqa: E402
from scoring.design import SurveyDesign  # noqa: E402
from scoring.linearization import domain_index  # noqa: E402
from scoring.ranks import rank_intervals, score_rank_intervals  # noqa: E402

CRITERIA = ("c1", "c2", "c3", "c4", "c5")


def ratings(n: int, seed: int = 7) -> pd.DataFrame:
    """``n`` kiosk ratings of 64 communes on five criteria (1–5, 4% skipped), as bench_portal."""
    rng = np.random.default_rng(seed)
    unit = np.arange(n) % 64
    data = pd.DataFrame({"unit": unit})
    for criterion in CRITERIA:
        noise = rng.random((3, n)).sum(axis=0) - 1.5
        values = np.clip(np.round(3.6 + (unit % 9) * 0.12 + noise * 1.6), 1, 5)
        values[rng.random(n) < 0.04] = np.nan
        data[criterion] = values
    return data


def plan(data: pd.DataFrame) -> LinearPlan:
    y = data[list(CRITERIA)].to_numpy(dtype=float)
    k = len(CRITERIA)
    return LinearPlan(y=y, coef=np.full((k, 1), 1 / (4 * k)), offset=np.array([-0.25]), kinds=("overall",),
                      ids=("overall",))


DESIGN = SurveyDesign(variance="bootstrap", replicates=500, seed=2026)


def fast(data: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    start = time.process_time()
    out = score_rank_intervals(data, plan(data), score="overall", unit="unit", design=DESIGN)
    return out, time.process_time() - start


def dense(data: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    start = time.process_time()
    p = plan(data)
    prepared = DESIGN.prepare(data)
    index = domain_index(data, ["unit"], prepared)
    parts = ratios(prepared, index, p.y, np.ones_like(p.y))
    reps = replicate_values(prepared, index, parts, p.coef, p.offset)[:, 0, :]
    out = rank_intervals(composite_value(parts.value, p.coef, p.offset)[:, 0], reps)
    return out, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=250_000)
    parser.add_argument("--dense-ratings", type=int, default=20_000)
    args = parser.parse_args()
    small = ratings(args.dense_ratings)
    slow_out, slow_s = dense(small)
    fast_out, fast_s = fast(small)
    same = all((slow_out[c].to_numpy() == fast_out[c].to_numpy()).all() for c in ("rank", "rank_low", "rank_high"))
    print(f"{args.dense_ratings:,} ratings, 64 communes, 500 replicates: dense {slow_s:.1f} s CPU, "
          f"chunked sparse {fast_s:.1f} s CPU ({slow_s / fast_s:.1f}× faster); same rank intervals: {same}")
    big = ratings(args.ratings)
    _out, big_s = fast(big)
    factors_gb = args.ratings * 500 * 8 / 1e9
    print(f"{args.ratings:,} ratings: chunked sparse {big_s:.1f} s CPU per ranking (the dense path would first "
          f"allocate {factors_gb:.1f} GB of factors and multiply 64 × {args.ratings:,} × 500 per ratio column)")


if __name__ == "__main__":
    main()
