"""Benchmark ``hailong score`` against R ``survey`` and ``samplics`` on the same CSV file.

Synthetic survey: 10 strata, 180 PSUs (18 per stratum), 40 units (domains), 20 items on 1–5
with item non-response (3–8% empty cells and 1–3% "don't know" = 9 per item), weights 50–150.
Each tool computes, per unit and item, the weighted mean and the share satisfied (4–5) among the
item's valid answers, with linearised SE, 95% t interval on the design df and design effect,
reading the CSV and writing a CSV. R survey runs as an analyst must for per-item valid answers:
one ``svyby(svymean, na.rm=TRUE, deff=TRUE)`` per item and statistic, since one call on
``~q1+…+q20`` keeps only the complete cases. samplics runs one TaylorEstimator per item and
statistic. Each tool runs in its own process; time is wall clock, memory is the child's peak
RSS (wait4); a run past ``--timeout`` is reported as ">timeout".

    .venv/bin/python bench/bench_score.py --sizes 20000,200000,1000000 --timeout 300

``--sae-areas 3321`` also times the Fay–Herriot model on as many communes (3,321 on 2 cores:
REML 8 ms, ML 2 ms, a 200-replicate bootstrap MSE 0.9 s; samplics' REML 283 s).

Not a test: it prints a table and the agreement between the tools' estimates and SEs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
N_STRATA, PSU_PER_STRATUM, N_UNITS, N_ITEMS = 10, 18, 40, 20
ITEMS = [f"q{i + 1}" for i in range(N_ITEMS)]

R_SCRIPT = r"""
# What an analyst must run in R survey for per-item valid-answer estimates: one svyby per item
# and statistic (svymean(~q1+q2, na.rm=TRUE) would keep only complete cases across the items).
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
items <- strsplit(args[3], ",")[[1]]
for (v in items) {
  d[[v]][d[[v]] %in% 9] <- NA
  d[[paste0(v, "_sat")]] <- ifelse(is.na(d[[v]]), NA, as.numeric(d[[v]] >= 4))
}
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, data = d, nest = TRUE)
out <- list()
for (v in items) for (s in c("mean", "satisfied")) {
  var <- if (s == "mean") v else paste0(v, "_sat")
  b <- svyby(as.formula(paste0("~", var)), ~unit, des, svymean, na.rm = TRUE, deff = TRUE)
  ci <- confint(b, df = degf(des))
  out[[length(out) + 1]] <- data.frame(unit = b$unit, item = v, statistic = s,
    estimate = coef(b), se = SE(b), ci_low = ci[, 1], ci_high = ci[, 2], deff = deff(b))
}
write.csv(do.call(rbind, out), args[2], row.names = FALSE)
"""

SAMPLICS_SCRIPT = r"""
import sys, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd
from samplics.estimation import TaylorEstimator
from samplics.utils.types import PopParam
data = pd.read_csv(sys.argv[1])
rows = []
for item in sys.argv[3].split(","):
    answers = np.array(data[item], dtype=float)
    answers[answers == 9] = np.nan
    satisfied = np.where(np.isnan(answers), np.nan, (answers >= 4).astype(float))
    for statistic, y in (("mean", answers), ("satisfied", satisfied)):
        est = TaylorEstimator(PopParam.mean)
        est.estimate(y=y, samp_weight=data["weight"].to_numpy(float), stratum=data["stratum"],
                     psu=data["psu"], domain=data["unit"], remove_nan=True)
        for unit, value in est.point_est.items():
            rows.append((unit, item, statistic, value, est.stderror[unit]))
pd.DataFrame(rows, columns=["unit", "item", "statistic", "estimate", "se"]).to_csv(
    sys.argv[2], index=False)
"""

OURS_SCRIPT = "from scoring.score_command import score_command; score_command()"


def make_data(n: int, seed: int = 20261123) -> pd.DataFrame:
    """Synthetic respondents with stratum and PSU effects (deff > 1) and item non-response.

    Each item has its own missing rate (3–8%, empty cells) and 1–3% "don't know" answers coded 9
    (removed by ``--missing-codes 9``), so valid answers differ from item to item.
    """
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, N_STRATA * PSU_PER_STRATUM, n)
    stratum = psu // PSU_PER_STRATUM
    unit = rng.integers(0, N_UNITS, n)
    psu_effect = rng.normal(0, 0.6, N_STRATA * PSU_PER_STRATUM)[psu]
    frame: dict[str, object] = {
        "stratum": stratum,
        "psu": psu,
        "unit": unit,
        "weight": np.round(rng.uniform(50, 150, n), 3),
    }
    for item in ITEMS:
        latent = 3.3 + psu_effect + 0.02 * unit + rng.normal(0, 1.1, n)
        answers = np.clip(np.rint(latent), 1, 5).astype(np.int8)
        answers[rng.random(n) < rng.uniform(0.01, 0.03)] = 9
        missing = rng.random(n) < rng.uniform(0.03, 0.08)
        column = pd.array(answers, dtype="Int8")
        column[missing] = pd.NA
        frame[item] = column
    return pd.DataFrame(frame)


def run(command: list[str], timeout: float) -> tuple[float, float, str]:
    """Run a child process; return (seconds, peak RSS in MB, status)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            process.kill()
            os.wait4(process.pid, 0)
            return timeout, float("nan"), f"timeout>{timeout:.0f}s"
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    peak_mb = usage.ru_maxrss / 1024
    if os.waitstatus_to_exitcode(status) != 0:
        error = process.stderr.read().decode(errors="replace")[-500:] if process.stderr else ""
        return seconds, peak_mb, "failed: " + error
    return seconds, peak_mb, "ok"


def compare(ours: Path, other: Path) -> str:
    """Largest absolute differences of estimates, SEs (and R's intervals and deffs) to ours."""
    a = pd.read_csv(ours)
    b = pd.read_csv(other)
    merged = a.drop(columns="domain").merge(
        b, on=["unit", "item", "statistic"], suffixes=("", "_other")
    )
    if len(merged) != len(a):
        return f"only {len(merged)} of {len(a)} estimates matched"
    parts = [f"{len(merged)} est."]
    for column in ("estimate", "se", "ci_low", "deff"):
        if f"{column}_other" in merged:
            diff = np.nanmax(np.abs(merged[column] - merged[f"{column}_other"]))
            parts.append(f"max|Δ{column}| {diff:.1e}")
    return ", ".join(parts)


def report(n: int, tool: str, seconds: float, peak_mb: float, status: str, ours: float) -> None:
    timed_out = status.startswith("timeout")
    shown = f">{seconds:.0f}" if timed_out else f"{seconds:.2f}"
    ratio = f">{seconds / ours:.0f}" if timed_out else f"{seconds / ours:.1f}"
    print(f"{n:>9} {tool:<9} {shown:>8} {peak_mb:>8.0f} {ratio:>7}  {status}", flush=True)


def bench_sae(m: int, seed: int = 1) -> None:
    """Fay–Herriot on ``m`` areas (shares, ψ 0.002–0.05, three covariates): fit + EBLUP + MSE by
    REML and ML, and a 200-replicate parametric bootstrap MSE, against samplics' REML fit."""
    import warnings

    from scoring.sae import bootstrap_mse, eblup, fit_fay_herriot

    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(size=m), rng.integers(0, 2, m), rng.uniform(0, 0.4, m)])
    psi = rng.uniform(0.002, 0.05, m)
    theta = 0.6 + 0.1 * x[:, 0] + 0.05 * x[:, 1] - 0.3 * x[:, 2] + rng.normal(0, 0.08, m)
    y = theta + rng.normal(0, np.sqrt(psi))
    print(f"Fay–Herriot on {m} areas")
    for method in ("REML", "ML"):
        start = time.perf_counter()
        fit = fit_fay_herriot(y, psi, x, method=method)  # type: ignore[arg-type]
        result = eblup(fit, y, psi, x)
        seconds = time.perf_counter() - start
        print(f"  {method:<4} {seconds * 1000:8.1f} ms  {fit.iterations} iterations, "
              f"median MSE / direct variance {np.median(result.mse / psi):.3f}")  # fmt: skip
    start = time.perf_counter()
    bootstrap_mse(fit, psi, x, replicates=200)
    print(f"  parametric bootstrap MSE, 200 replicates: {time.perf_counter() - start:.2f} s")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from samplics.sae import EblupAreaModel
            from samplics.utils.types import FitMethod
        except ImportError:
            return
        start = time.perf_counter()
        model = EblupAreaModel(method=FitMethod.reml)
        model.fit(yhat=y, X=x, area=np.arange(m), error_std=np.sqrt(psi), tol=1e-12, maxiter=500)
        model.predict(X=x, area=np.arange(m))
        print(f"  samplics REML: {time.perf_counter() - start:.2f} s (m × m matrices)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="20000,200000,1000000", help="respondent counts, comma-separated"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per R/samplics run")
    parser.add_argument("--skip-others-above", type=int, default=None,
                        help="run only ours above this size")  # fmt: skip
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--no-samplics", action="store_true")
    parser.add_argument("--sae-areas", type=int, default=0,
                        help="also time the Fay–Herriot model on this many areas (e.g. 3321)")  # fmt: skip
    args = parser.parse_args()
    if args.sae_areas:
        bench_sae(args.sae_areas)
    have_r = shutil.which("Rscript") is not None and not args.no_r
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "bench.R").write_text(R_SCRIPT)
        (work / "bench_samplics.py").write_text(SAMPLICS_SCRIPT)
        print(f"{'n':>9} {'tool':<9} {'seconds':>8} {'peak MB':>8} {'×ours':>7}  status")
        for n in [int(s) for s in args.sizes.split(",")]:
            data_path = work / f"survey_{n}.csv"
            make_data(n).to_csv(data_path, index=False)
            ours_out = work / f"ours_{n}.csv"
            command = [
                sys.executable, "-c", OURS_SCRIPT, str(data_path), "--weight", "weight",
                "--strata", "stratum", "--psu", "psu", "--by", "unit", "--items", ",".join(ITEMS),
                "--statistic", "mean,satisfied", "--missing-codes", "9", "--out", str(ours_out),
            ]  # fmt: skip
            ours_s, ours_mb, status = run(command, timeout=3600)
            report(n, "hailong", ours_s, ours_mb, status, ours_s)
            if args.skip_others_above is not None and n > args.skip_others_above:
                continue
            items = ",".join(ITEMS)
            tools = []
            if have_r:
                tools.append(("R survey", ["Rscript", str(work / "bench.R")]))
            if not args.no_samplics:
                tools.append(("samplics", [sys.executable, str(work / "bench_samplics.py")]))
            for tool, prefix in tools:
                out = work / f"{tool.split()[0]}_{n}.csv"
                sec, mb, status = run([*prefix, str(data_path), str(out), items], args.timeout)
                if status == "ok":
                    status += "; " + compare(ours_out, out)
                report(n, tool, sec, mb, status, ours_s)


if __name__ == "__main__":
    main()
