"""Error metrics: analytic values, distance bands, the Markdown summary."""

import numpy as np
import pandas as pd
import pytest

from pinnff.validation.metrics import errors, markdown_table, metrics_table


def test_errors_match_their_definitions():
    e = errors([0.0, 1.0, 2.0, 3.0], [1.0, 1.0, 0.0, 3.0])  # differences 1, 0, -2, 0
    assert e["n"] == 4
    assert e["rmse"] == pytest.approx(np.sqrt(5.0 / 4.0))
    assert e["mae"] == pytest.approx(0.75)
    assert e["max_abs"] == pytest.approx(2.0)
    assert e["bias"] == pytest.approx(-0.25)
    assert errors([], [])["n"] == 0


def _predictions():
    rows = []
    for seed, offset in ((0, 0.1), (1, 0.3)):
        for k, contact in enumerate([1.6, 2.4, 3.1, 6.0]):
            rows.append({"model": "pinn", "trainset": "A", "sigma_kcal": 0.0, "seed": seed, "n_train": 8, "set": "short",
                         "sample_id": f"s{k}", "min_contact_A": contact, "e_int_ref_kcal": float(k),
                         "e_int_pred_kcal": k + offset * (k + 1)})
    return pd.DataFrame(rows)


def test_metrics_by_band_and_seed():
    metrics = metrics_table(_predictions())
    seed0 = metrics[metrics.seed == 0].set_index("band")
    assert seed0.loc["all", "n"] == 4
    assert seed0.loc["all", "max_abs"] == pytest.approx(0.4)
    assert seed0.loc["contact 0-2 A", "n"] == 1 and seed0.loc["contact 0-2 A", "rmse"] == pytest.approx(0.1)
    assert seed0.loc["contact 2-3 A", "rmse"] == pytest.approx(0.2)
    assert seed0.loc["contact >= 5 A", "rmse"] == pytest.approx(0.4)
    assert seed0.loc[[b for b in seed0.index if b != "all"], "n"].sum() == 4


def test_markdown_summary_averages_over_seeds():
    table = markdown_table(metrics_table(_predictions()))
    rmse0 = np.sqrt(np.mean((0.1 * np.arange(1, 5)) ** 2))
    rmse1 = np.sqrt(np.mean((0.3 * np.arange(1, 5)) ** 2))
    mean, sd = np.mean([rmse0, rmse1]), np.std([rmse0, rmse1], ddof=1)
    assert f"| pinn | A | 0 | short | 4 | 2 | {mean:.3f} ± {sd:.2f} |" in table
