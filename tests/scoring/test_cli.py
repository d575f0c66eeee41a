"""``hailong score`` (scoring.score_command.score_command): same numbers as the Python API, clear errors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scoring import estimators
from scoring.design import SurveyDesign
from scoring.score_command import score_command

DESIGN_ARGS = ["--weight", "weight", "--strata", "stratum", "--psu", "psu"]


def run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(score_command, args)
    return result.exit_code, result.output


def test_cli_and_api_give_the_same_numbers(survey: pd.DataFrame, tmp_path: Path) -> None:
    survey = survey.copy()
    survey.loc[survey.index[:20], "c2"] = 9  # don't know
    source = tmp_path / "survey.csv"
    out = tmp_path / "out.csv"
    survey.to_csv(source, index=False)
    code, output = run([str(source), *DESIGN_ARGS, "--by", "unit_id", "--items", "c1,c2",
                        "--statistic", "mean,satisfied", "--missing-codes", "9", "--ci", "logit",
                        "--out", str(out)])  # fmt: skip
    assert code == 0, output
    cli = pd.read_csv(out, encoding="utf-8")
    assert list(cli.columns[:3]) == ["domain", "unit_id", "item"]
    assert {"statistic", "n", "estimate", "se", "ci_low", "ci_high", "deff"} <= set(cli.columns)
    assert len(cli) == 3 * 2 * 2
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu")
    api_mean = estimators.mean(
        survey, ["c1", "c2"], design=design, by=["unit_id"], missing_codes=[9]
    )
    api_sat = estimators.proportion(survey, ["c1", "c2"], design=design, by=["unit_id"],
                                    missing_codes=[9], ci="logit")  # fmt: skip
    for statistic, api in (("mean", api_mean), ("satisfied", api_sat)):
        expected = api.to_frame().rename(columns={"unit_id": "domain", "id": "item"})
        got = cli[cli["statistic"] == statistic].merge(
            expected, on=["domain", "item"], suffixes=("", "_api")
        )
        assert len(got) == 6
        for column in ("n", "estimate", "se", "ci_low", "ci_high", "deff"):
            np.testing.assert_allclose(got[column], got[f"{column}_api"], rtol=1e-12)
    # code 9 was not counted as an answer
    assert (cli[(cli["item"] == "c2")]["n"].sum() / 2) == api_mean.to_frame().query("id == 'c2'")[
        "n"
    ].sum()


def test_without_by_the_domain_is_all(survey: pd.DataFrame, tmp_path: Path) -> None:
    source = tmp_path / "s.csv"
    survey.to_csv(source, index=False)
    out = tmp_path / "o.csv"
    code, output = run([str(source), "--items", "c1", "--out", str(out), "--df", "inf"])
    assert code == 0, output
    frame = pd.read_csv(out)
    assert frame["domain"].tolist() == ["ALL"]
    assert np.isinf(frame["df"].iloc[0])


@pytest.mark.parametrize(
    ("change", "extra", "message"),
    [
        (None, ["--psu", "nope"], "column 'nope' is not in"),
        ("weights", [], "'heavy'"),
        ("lonely", [], "only one PSU"),
        (None, ["--statistic", "median"], "'median'"),
    ],
)
def test_clear_errors_exit_2_without_traceback(
    survey: pd.DataFrame, tmp_path: Path, change: str | None, extra: list[str], message: str
) -> None:
    survey = survey.copy()
    if change == "weights":
        survey["weight"] = survey["weight"].astype(object)
        survey.loc[5, "weight"] = "heavy"
    elif change == "lonely":
        survey.loc[survey["stratum"] == 0, "psu"] = 0
    source = tmp_path / "bad.csv"
    survey.to_csv(source, index=False)
    args = [str(source), "--weight", "weight", "--strata", "stratum", "--psu", "psu",
            "--items", "c1,c2", "--out", str(tmp_path / "o.csv")]  # fmt: skip
    if "--psu" in extra:
        args[args.index("--psu") + 1] = extra[1]
        extra = []
    code, output = run(args + extra)
    assert code == 2
    assert message in output
    assert "Traceback" not in output


def test_a_domain_without_valid_answers_gets_a_row_that_says_why(
    survey: pd.DataFrame, tmp_path: Path
) -> None:
    survey = survey.copy()
    survey.loc[survey["unit_id"] == "u2", "c1"] = np.nan  # u2 still answers c2
    survey.loc[survey["unit_id"] == "u3", ["c1", "c2"]] = np.nan  # u3 answers nothing
    source, out = tmp_path / "s.csv", tmp_path / "o.csv"
    survey.to_csv(source, index=False)
    result = CliRunner().invoke(score_command, [str(source), *DESIGN_ARGS, "--by", "unit_id",
                                "--items", "c1,c2", "--statistic", "mean,satisfied",
                                "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert len(frame) == 3 * 2 * 2
    empty = frame[frame["n"] == 0]
    assert sorted(set(zip(empty["unit_id"], empty["item"], strict=True))) == [
        ("u2", "c1"),
        ("u3", "c1"),
        ("u3", "c2"),
    ]
    assert empty["estimate"].isna().all() and empty["se"].isna().all()
    assert (empty["note"] == "no valid answer in this domain: no estimate").all()
    assert "u3/c2" in result.output
    # the other domains are scored exactly as the API scores them
    design = SurveyDesign(weight="weight", stratum="stratum", psu="psu")
    api = estimators.mean(survey, ["c1", "c2"], design=design, by=["unit_id"]).to_frame()
    scored = frame[(frame["n"] > 0) & (frame["statistic"] == "mean")].merge(
        api.rename(columns={"id": "item"}), on=["unit_id", "item"], suffixes=("", "_api")
    )
    assert len(scored) == 3 and scored["note"].isna().all()
    np.testing.assert_allclose(scored["se"], scored["se_api"], rtol=1e-12)


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "scoring"


def test_change_from_a_period_matches_r(tmp_path: Path) -> None:
    """The change of c2 from 2014 to 2015 per unit: R's svycontrast numbers (reference.csv)."""
    reference = pd.read_csv(FIXTURES / "reference.csv").query("case == 'difference'")
    result = CliRunner().invoke(score_command, [str(FIXTURES / "design.csv"), *DESIGN_ARGS,
                                "--by", "unit", "--items", "c2", "--period", "period",
                                "--change-from", "2014", "--out", "-"])  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout
    frame = pd.read_csv(io.StringIO(lines))
    assert {"base_estimate", "current_estimate", "p_value", "significant"} <= set(frame.columns)
    merged = frame.merge(reference, on="domain", suffixes=("", "_r"))
    assert len(merged) == 3
    np.testing.assert_allclose(merged["estimate"], merged["estimate_r"], rtol=1e-8)
    np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=1e-8)
    np.testing.assert_allclose(merged["estimate"],
                               merged["current_estimate"] - merged["base_estimate"], rtol=1e-12)  # fmt: skip
    assert "wrote 3 changes to standard output" in result.stderr


def test_out_dash_writes_the_table_to_standard_output(survey: pd.DataFrame, tmp_path: Path) -> None:
    source, out = tmp_path / "s.csv", tmp_path / "o.csv"
    survey.to_csv(source, index=False)
    args = [str(source), *DESIGN_ARGS, "--by", "unit_id", "--items", "c1,c2"]
    to_file = CliRunner().invoke(score_command, [*args, "--out", str(out)])
    to_stdout = CliRunner().invoke(score_command, [*args, "--out", "-"])
    assert to_file.exit_code == to_stdout.exit_code == 0
    assert to_stdout.stdout == out.read_text(encoding="utf-8")


def test_sae_gives_modelled_estimates_per_area_with_the_direct_beside(tmp_path: Path) -> None:
    from scoring.sae import MODELLED_LABEL, direct_estimates, small_area_estimates
    from tests.scoring.test_sae import survey_with_communes

    data, communes = survey_with_communes()
    source, covariates = tmp_path / "s.csv", tmp_path / "cov.csv"
    data.to_csv(source, index=False)
    communes.to_csv(covariates, index=False)
    result = CliRunner().invoke(score_command, [str(source), "--weight", "weight", "--psu",
                                "village", "--by", "commune", "--items", "q1", "--statistic",
                                "satisfied", "--sae", str(covariates), "--sae-covariates",
                                "urban,poverty", "--sae-population", "population", "--out", "-"])  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert len(frame) == 40 and (frame["label"] == MODELLED_LABEL).all()
    assert (frame["kind"] == "synthetic").sum() == 8
    design = SurveyDesign(weight="weight", psu="village")
    api = small_area_estimates(
        direct_estimates(data, "q1", area="commune", design=design), communes, area="commune",
        columns=["urban", "poverty"], transform="arcsine", population="population",
        benchmark=float(estimators.proportion(data, "q1", design=design).get("q1").value),
    )  # fmt: skip
    merged = frame.merge(api, left_on="domain", right_on="commune", suffixes=("", "_api"))
    for column in ("estimate", "rmse", "ci_low", "ci_high", "direct"):
        np.testing.assert_allclose(merged[column], merged[f"{column}_api"], rtol=1e-10)
    assert "wrote 40 modelled estimates" in result.stderr
