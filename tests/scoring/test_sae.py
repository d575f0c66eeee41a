"""Fay–Herriot small-area estimates (scoring.sae) against samplics' EblupAreaModel on the same
inputs, the ML variance against a direct maximisation of the likelihood, and the coverage of the
MSE-based intervals by simulation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from scoring.design import SurveyDesign
from scoring.sae import (
    MODELLED_LABEL,
    bootstrap_mse,
    direct_estimates,
    eblup,
    fit_fay_herriot,
    small_area_estimates,
)

RTOL = 1e-8


def model_data(m: int = 60, seed: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(size=m), rng.integers(0, 2, m)])
    psi = rng.uniform(0.2, 2.0, m)
    y = 1 + 0.8 * x[:, 0] - 0.5 * x[:, 1] + rng.normal(0, 0.9, m) + rng.normal(0, np.sqrt(psi))
    return y, psi, x


@pytest.fixture(scope="module")
def samplics_sae():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # samplics announces it is archived on import
        sae = pytest.importorskip("samplics.sae")
        types = pytest.importorskip("samplics.utils.types")
    return sae, types


def test_reml_eblup_and_mse_match_samplics(samplics_sae) -> None:  # type: ignore[no-untyped-def]
    sae, types = samplics_sae
    y, psi, x = model_data()
    area = np.arange(len(y))
    model = sae.EblupAreaModel(method=types.FitMethod.reml)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(yhat=y, X=x, area=area, error_std=np.sqrt(psi), tol=1e-14, maxiter=1000)
        model.predict(X=x, area=area)
    fit = fit_fay_herriot(y, psi, x, method="REML")
    ours = eblup(fit, y, psi, x)
    assert fit.converged
    assert fit.sigma2_v == pytest.approx(float(model.re_std) ** 2, rel=RTOL)
    np.testing.assert_allclose(fit.beta, model.fixed_effects, rtol=RTOL)
    np.testing.assert_allclose(ours.estimate, [model.area_est[a] for a in area], rtol=RTOL)
    np.testing.assert_allclose(ours.mse, [model.area_mse[a] for a in area], rtol=RTOL)
    # the MSE is below the direct variance where the model helps most
    assert (ours.mse < psi).mean() > 0.9


def test_ml_variance_maximises_the_likelihood_and_mse_matches_samplics(
    samplics_sae,  # type: ignore[no-untyped-def]
) -> None:
    """samplics 0.6.1's ML Fisher scoring stops after two steps at a start-dependent value, so
    σ²_v is checked against a direct maximisation of the ML likelihood, and the MSE against
    samplics' formula evaluated at that σ²_v."""
    sae, types = samplics_sae
    y, psi, x = model_data()
    x1 = np.column_stack([np.ones(len(y)), x])

    def negative_loglik(s2: float) -> float:
        w = 1 / (s2 + psi)
        beta = np.linalg.solve(x1.T @ (x1 * w[:, None]), x1.T @ (w * y))
        r = y - x1 @ beta
        return 0.5 * float(np.sum(np.log(s2 + psi)) + np.sum(r * r * w))

    best = optimize.minimize_scalar(negative_loglik, bounds=(1e-6, 10), method="bounded",
                                    options={"xatol": 1e-12})  # fmt: skip
    fit = fit_fay_herriot(y, psi, x, method="ML")
    assert fit.sigma2_v == pytest.approx(best.x, rel=1e-6)
    model = sae.EblupAreaModel(method=types.FitMethod.ml)
    model.yhat = y
    estimates, mse, *_ = model._eb_estimates(
        X=x1, beta=fit.beta, area=np.arange(len(y)), sigma2_e=psi, sigma2_v=fit.sigma2_v,
        sigma2_v_cov=fit.sigma2_v_var, b_const=np.ones(len(y)),
    )  # fmt: skip
    ours = eblup(fit, y, psi, x)
    np.testing.assert_allclose(ours.estimate, estimates, rtol=RTOL)
    np.testing.assert_allclose(ours.mse, mse, rtol=RTOL)


def test_mse_intervals_cover_the_true_area_values() -> None:
    """95% intervals θ̃ ± 1.96 √mse over 200 simulated populations of 50 areas."""
    rng = np.random.default_rng(11)
    m, sims = 50, 200
    x = rng.normal(size=(m, 1))
    psi = rng.uniform(0.3, 1.5, m)
    covered = 0
    for _ in range(sims):
        theta = 2 + x[:, 0] + rng.normal(0, 0.8, m)
        y = theta + rng.normal(0, np.sqrt(psi))
        fit = fit_fay_herriot(y, psi, x)
        result = eblup(fit, y, psi, x)
        covered += int((np.abs(result.estimate - theta) <= 1.959964 * np.sqrt(result.mse)).sum())
    coverage = covered / (m * sims)
    assert 0.93 <= coverage <= 0.965, coverage


def test_bootstrap_mse_agrees_with_the_analytic_one_on_average() -> None:
    y, psi, x = model_data()
    fit = fit_fay_herriot(y, psi, x)
    analytic = eblup(fit, y, psi, x).mse
    boot = bootstrap_mse(fit, psi, x, replicates=150, seed=5)
    assert float(np.mean(boot) / np.mean(analytic)) == pytest.approx(1.0, abs=0.15)


def survey_with_communes(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """40 communes (one PSU = a village; 1–4 villages per commune), the last 8 unsampled."""
    rng = np.random.default_rng(seed)
    communes = pd.DataFrame({"commune": [f"x{i:02d}" for i in range(40)],
                             "urban": rng.integers(0, 2, 40).astype(float),
                             "poverty": rng.uniform(0, 0.4, 40).round(3),
                             "population": rng.integers(2_000, 20_000, 40).astype(float)})  # fmt: skip
    logit = 0.6 + 0.8 * communes["urban"] - 3 * communes["poverty"] + rng.normal(0, 0.3, 40)
    rows = []
    for i in range(32):
        c = communes.iloc[i]
        for village in range(int(rng.integers(1, 5))):
            for _ in range(int(rng.integers(5, 15))):
                p = 1 / (1 + np.exp(-logit.iloc[i]))
                rows.append((c["commune"], f"{c['commune']}-v{village}", 5 if rng.random() < p
                             else 2, rng.uniform(50, 150)))  # fmt: skip
    data = pd.DataFrame(rows, columns=["commune", "village", "q1", "weight"])
    return data, communes


def test_commune_estimates_from_survey_data() -> None:
    data, communes = survey_with_communes()
    design = SurveyDesign(weight="weight", psu="village")
    direct = direct_estimates(data, "q1", area="commune", design=design)
    assert len(direct) == 32
    whole = float(np.average(data["q1"] >= 4, weights=data["weight"]))
    out = small_area_estimates(direct, communes, area="commune", columns=["urban", "poverty"],
                               transform="arcsine", benchmark=whole,
                               population="population")  # fmt: skip
    assert len(out) == 40 and (out["label"] == MODELLED_LABEL).all()
    assert out["kind"].value_counts().to_dict() == {"eblup": 32, "synthetic": 8}
    synthetic = out[out["kind"] == "synthetic"]
    assert synthetic["direct"].isna().all() and (synthetic["gamma"] == 0).all()
    assert ((out["estimate"] > 0) & (out["estimate"] < 1)).all()
    assert (out["ci_low"] < out["estimate"]).all() and (out["estimate"] < out["ci_high"]).all()
    # benchmarked: the population-weighted mean of the communes is the province's estimate
    weights = communes.set_index("commune").loc[out["commune"], "population"].to_numpy()
    assert float(np.average(out["estimate"], weights=weights)) == pytest.approx(whole, rel=1e-12)
    # a synthetic estimate is less certain than a sampled commune's modelled estimate
    assert synthetic["rmse"].median() > out.loc[out["kind"] == "eblup", "rmse"].median()


def test_variances_of_one_village_communes_are_smoothed() -> None:
    data, communes = survey_with_communes()
    design = SurveyDesign(weight="weight", psu="village")
    direct = direct_estimates(data, "q1", area="commune", design=design)
    one_village = direct["n_psu"] < 2
    assert one_village.any()
    indicator = (data["q1"] >= 4).astype(float)
    s2 = float(np.cov(indicator, aweights=data["weight"]))
    out = small_area_estimates(direct, communes, area="commune", columns=["urban", "poverty"],
                               unit_variance=s2)  # fmt: skip
    sampled = out[out["kind"] == "eblup"].set_index("commune")
    assert len(sampled) == 32 and np.isfinite(sampled["mse"]).all()
    # without smoothing, the one-village communes (variance 0) could not enter the model
    raw = small_area_estimates(direct, communes, area="commune", columns=["urban", "poverty"])
    assert (raw["kind"] == "eblup").sum() == 32 - int(one_village.sum())


@pytest.mark.parametrize(
    ("change", "message"),
    [("collinear", "collinear"), ("unknown", "has no covariates"), ("text", "must be numbers")],
)
def test_clear_errors(change: str, message: str) -> None:
    data, communes = survey_with_communes()
    direct = direct_estimates(data, "q1", area="commune", design=SurveyDesign(psu="village"))
    columns = ["urban", "poverty"]
    if change == "collinear":
        communes["twice"] = communes["poverty"] * 2
        columns.append("twice")
    elif change == "unknown":
        communes = communes.iloc[1:]
    else:
        communes["poverty"] = communes["poverty"].astype(object)
        communes.loc[3, "poverty"] = "n/a"
    with pytest.raises(ValueError, match=message):
        small_area_estimates(direct, communes, area="commune", columns=columns,
                             transform="arcsine")  # fmt: skip


def test_sipas_overall_index_per_commune_with_posterior_rank_intervals() -> None:
    from scoring.sae import direct_from_table, posterior_rank_intervals
    from scoring.sipas import SipasElement, SipasSpec, score_sipas

    data, communes = survey_with_communes()
    rng = np.random.default_rng(8)
    data["q2"] = np.where(rng.random(len(data)) < 0.7, data["q1"], rng.integers(1, 6, len(data)))
    spec = SipasSpec(elements=(SipasElement("access", 1.5, ("q1", "q2")),),
                     overall_rule="plain_mean")  # fmt: skip
    design = SurveyDesign(weight="weight", psu="village")
    table = score_sipas(data, spec, design=design, by=["commune"], df="inf")
    direct = direct_from_table(table, area="commune", kind="overall", id="overall")
    overall = table.to_frame().query("kind == 'overall'").set_index("commune")
    assert np.allclose(direct.set_index("commune")["direct"], overall["estimate"])
    indicator = ((data[["q1", "q2"]] >= 4).mean(axis=1)).to_numpy()
    s2 = float(np.cov(indicator, aweights=data["weight"]))
    out = small_area_estimates(direct, communes, area="commune", columns=["urban", "poverty"],
                               unit_variance=s2)  # fmt: skip
    ranks = posterior_rank_intervals(out, area="commune", draws=2000, seed=1)
    assert len(ranks) == 40
    assert ((ranks["rank_low"] <= ranks["rank"]) & (ranks["rank"] <= ranks["rank_high"])).all()
    assert ranks["rank"].tolist() == out["estimate"].rank(method="min", ascending=False).tolist()
    # an area known better (smaller MSE) gets a narrower rank interval, other things equal
    certain = out.assign(mse=out["mse"] * 1e-6)
    tight = posterior_rank_intervals(certain, area="commune", draws=500, seed=1)
    assert (tight["rank_high"] - tight["rank_low"]).max() <= 1
    assert (ranks["rank_high"] - ranks["rank_low"]).median() >= 5


def test_no_area_variation_gives_the_synthetic_estimate() -> None:
    """When the direct estimates vary less than their sampling errors say, σ²_v is 0 at the
    likelihood's maximum: every area gets the regression (synthetic) estimate, γ = 0."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 1))
    psi = np.full(50, 1.0)
    y = 1 + 0.5 * x[:, 0] + rng.normal(0, 0.6, 50)  # less spread than ψ = 1 allows
    for method in ("REML", "ML"):
        fit = fit_fay_herriot(y, psi, x, method=method)  # type: ignore[arg-type]
        assert fit.converged and fit.sigma2_v == 0.0
        result = eblup(fit, y, psi, x)
        np.testing.assert_allclose(result.estimate, result.synthetic, rtol=1e-12)
        assert (result.gamma == 0).all() and (result.mse > 0).all()
