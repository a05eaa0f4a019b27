"""The Snakemake DAG: dry runs of every preset and profile, and the smoke preset end to end."""

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from ase.io import read

from pinnff.io.structures import read_structures

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def snakemake(*args, cwd):
    """Run the workflow's Snakemake from ``cwd`` with the venv *not* activated (as `make run` does)."""
    return subprocess.run([SNAKEMAKE, "-s", str(ROOT / "Snakefile"), *args], cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize("profile", ["default", "slurm"])
@pytest.mark.parametrize("preset", [None, "paper", "smoke", "counterpoise"])
def test_dry_run_shows_the_full_dag(tmp_path, profile, preset):
    args = ["-n", "--profile", str(ROOT / "workflow/profiles" / profile)]
    if preset:
        args += ["--configfile", str(ROOT / f"config/presets/{preset}.yaml")]
    run = snakemake(*args, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    for rule in ["curate_conformers", "curate_monomers", "curate_dimers", "label_chunk", "merge_labels", "split",
                 "add_noise", "noise_stats", "train"]:
        assert rule in run.stdout


def test_bad_config_fails_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dimers:\n  set_A:\n    n_train: -1\n")
    run = snakemake("-n", "--cores", "1", "--configfile", str(bad), cwd=tmp_path)
    assert run.returncode != 0
    assert "dimers.set_A.n_train" in run.stderr + run.stdout


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def report_items(path) -> dict[str, dict]:
    """Output path -> {caption (plain text), category} of every file of a Snakemake HTML report
    (read from the ``results`` and ``categories`` objects it embeds)."""
    found = {}
    for line in Path(path).read_text().splitlines():
        match = re.fullmatch(r"\s*var (results|categories) = (\{.*\});?\s*", line)
        if match:
            found[match[1]] = json.loads(match[2])
    category = {p: c for c, groups in found["categories"].items() for paths in groups.values() for p in paths}
    return {p: {"caption": re.sub(r"<[^>]+>", "", r["caption"] or "").strip(), "category": category.get(p)}
            for p, r in found["results"].items()}


def test_every_figure_of_the_rules_is_in_the_report_with_a_caption():
    """Every .png output of a rule is wrapped in report(...), and every caption file a rule names exists."""
    captions = 0
    for rules in sorted((ROOT / "workflow/rules").glob("*.smk")):
        text = rules.read_text()
        for line in text.splitlines():
            if '.png"' in line:
                assert "report(" in line, f"{rules.name}: figure not in the report: {line.strip()}"
        for caption in re.findall(r'caption="([^"]+)"', text):
            assert len((rules.parent / caption).read_text().strip()) > 80, f"{rules.name}: {caption}"
            captions += 1
    assert captions >= 19


@pytest.mark.slow
def test_smoke_preset_runs_end_to_end(tmp_path):
    run = snakemake("--cores", "2", "--configfile", str(ROOT / "config/presets/smoke.yaml"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    out = tmp_path / "results/smoke"

    curated = {name: read_structures(out / f"curated/{name}.extxyz")
               for name in ["conformers", "monomers", "set_A", "set_B", "short", "long", "trimers", "scans"]}
    assert len(curated["conformers"]) == 6 and len(curated["monomers"]) == 8
    assert len(curated["set_A"]) == len(curated["set_B"]) == 14
    for frame in curated["set_A"] + curated["set_B"]:
        assert frame.info["min_contact_A"] >= 1.9
    for frame in curated["short"]:
        assert 1.45 - 1e-3 <= frame.info["min_contact_A"] <= 1.85 + 1e-3

    labelled = read_structures(out / "labels/xtb_gfn2-xtb/set_A.extxyz")
    assert [a.info["sample_id"] for a in labelled] == [a.info["sample_id"] for a in curated["set_A"]]
    assert all(a.info["level"] == "xtb/gfn2-xtb" for a in labelled)
    monomers = read_structures(out / "labels/xtb_gfn2-xtb/monomers.extxyz")
    assert all(a.arrays["forces_kcal_A"].shape == (23, 3) for a in monomers)

    train = read_structures(out / "splits/set_A/train.extxyz")
    assert len(train) == 8 and all(a.info["split"] == "train" for a in train)
    clean = np.array([a.info["e_int_kcal"] for a in train])
    noisy0 = read_structures(out / "noisy/A/sigma0.extxyz")
    noisy1 = read_structures(out / "noisy/A/sigma1.extxyz")
    np.testing.assert_array_equal([a.info["e_int_kcal"] for a in noisy0], clean)
    np.testing.assert_array_equal([a.info["e_int_clean_kcal"] for a in noisy1], clean)
    assert np.any(np.array([a.info["e_int_kcal"] for a in noisy1]) != clean)
    assert (out / "noisy/noise_stats.csv").read_text().count("\n") == 5

    from pinnff.io.digest import file_sha256
    from pinnff.model.store import load_checkpoint

    for model in ("pinn", "physics", "ml"):
        for trainset in ("A", "B"):
            for sigma in ("0", "1"):
                folder = out / f"models/{model}/{trainset}/sigma{sigma}/tabu-adam/seed0"
                _, metadata = load_checkpoint(folder / "model.pt")
                assert metadata["train_sha256"] == file_sha256(out / f"noisy/{trainset}/sigma{sigma}.extxyz")
                assert metadata["grad_evals"] == 100 and np.isfinite(metadata["best_val_rmse_kcal"])
                curve = pd.read_csv(folder / "curve.csv")
                assert curve.grad_evals.iloc[-1] == 100
                assert curve.best_val_loss.iloc[-1] == pytest.approx(metadata["best_val_rmse_kcal"])

    # validation: every run predicts every labelled held-out sample; metrics and figures exist
    metrics = pd.read_csv(out / "validation/metrics.csv")
    overall = metrics[metrics.band == "all"]
    assert len(overall) == 3 * 2 * 2 * 6  # kinds x training sets x sigmas x held-out sets
    assert set(overall.n) == {3, 2, 5} and (overall.rmse > 0).all()  # 3 test dimers, 2 short/long/trimers, 5 scan points
    predictions = pd.read_csv(out / "validation/pinn/A/sigma0/tabu-adam/seed0.csv")
    assert len(predictions) == 3 + 3 + 2 + 2 + 2 + 5
    parts = predictions[[c for c in predictions.columns if c.startswith("pred_") and c.endswith("_kcal")]].sum(axis=1)
    np.testing.assert_allclose(parts, predictions.e_int_pred_kcal, atol=1e-4)
    for name in ("parity_A", "parity_B", "rmse_vs_noise", "dissociation_scans", "optimizer_study"):
        assert (out / f"figures/{name}.png").stat().st_size > 10_000
    runs = pd.read_csv(out / "study/optimizer_runs.csv")
    assert sorted(runs.optimizer) == ["adam", "tabu-adam"]
    curves = pd.read_csv(out / "study/learning_curves.csv")
    assert sorted(set(curves.model)) == ["ml", "physics", "pinn"] and set(curves.n_train) == {4, 8}
    assert (curves.n == 3).all() and (out / "figures/learning_curves.png").stat().st_size > 10_000

    # liquid stage: an 8-molecule box, MD with the physics model and the prior, D, figures
    box = read_structures(out / "md/n8/box-seed21.extxyz")[0]
    assert len(box) == 8 * 23 and box.pbc.all()
    from pinnff.md.commands import md_settings

    md = yaml.safe_load((out / "config.yaml").read_text())["md"]
    steps = md_settings(md)  # outer steps of 6 fs
    barostat_every = max(1, round(md["barostat_every_fs"] / steps.outer_step_fs))
    start = steps.anneal_steps + steps.equilibration_steps + steps.npt_steps
    for potential in ("physics", "prior"):
        run = out / f"md/n8/{potential}/rep0"
        summary = json.loads((run / "summary.json").read_text())
        assert summary["potential"] == potential and summary["production_steps"] == steps.production_steps
        assert summary["npt"]["moves"] == steps.npt_steps // barostat_every and summary["npt"]["density_g_cm3"] > 0
        thermo = pd.read_csv(run / "thermo.csv")
        assert thermo.step.iloc[-1] == start + steps.production_steps and (thermo.temperature_K < 900).all()
        assert list(dict.fromkeys(thermo.phase)) == ["anneal", "equilibration", "npt", "production"]
        assert 0 < thermo[thermo.phase == "anneal"].step.max() <= steps.anneal_steps
        assert thermo[thermo.phase == "npt"].density_g_cm3.nunique() > 1  # the barostat moved the volume
        frames = range(start + 1, start + steps.production_steps + 1)
        assert len(read(run / "production.extxyz", index=":")) == sum(1 for k in frames if k % steps.sample_every == 0)
        # 0.5 ps is far too short for diffusion: recorded as such, not a crash
        d = json.loads((out / f"md/n8/{potential}/D.json").read_text())
        assert d["D"] is None and d["n_molecules"] == 8 and d["n_replicas"] == 1
        assert "no diffusive regime" in d["no_diffusion"]["reason"]
        assert 2.0 < d["radius_of_gyration_A"] < 4.5  # diglyme
    summary = json.loads((out / "md/diffusion.json").read_text())
    assert {entry["route"] for entry in summary["potentials"].values()} == {"none"}
    for name in ("thermo", "rdf", "density", "diffusion", "finite_size"):
        assert (out / f"md/figures/{name}.png").stat().st_size > 10_000

    # a second run does nothing, and validation/test files are untouched by the noise stage
    frozen = {p: _digest(p) for p in (out / "splits").glob("*/*.extxyz")}
    again = snakemake("--cores", "2", "--configfile", str(ROOT / "config/presets/smoke.yaml"), cwd=tmp_path)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    assert frozen == {p: _digest(p) for p in (out / "splits").glob("*/*.extxyz")}

    # the Snakemake report holds every figure the run made and the tables, each with a caption
    report = snakemake("--cores", "1", "--configfile", str(ROOT / "config/presets/smoke.yaml"),
                       "--report", "report.html", cwd=tmp_path)
    assert report.returncode == 0, report.stderr[-2000:]
    items = report_items(tmp_path / "report.html")
    figures = {str(p.relative_to(tmp_path)) for p in out.rglob("*.png")}
    assert len(figures) >= 11 and figures <= set(items), sorted(figures - set(items))
    tables = {f"results/smoke/{name}" for name in (
        "config.yaml", "curated/summary.csv", "splits/summary.csv", "noisy/noise_stats.csv", "validation/metrics.csv",
        "validation/metrics.md", "study/optimizer_runs.csv", "study/learning_curves.csv", "md/figures/rdf.csv",
        "md/figures/density.csv", "md/diffusion.csv")}
    assert tables <= set(items), sorted(tables - set(items))
    for path, item in items.items():
        assert len(item["caption"]) > 80 and item["category"], path
    from pinnff.config import validate

    recorded = yaml.safe_load((out / "config.yaml").read_text())
    assert recorded["results_dir"] == "results/smoke" and recorded["train"]["max_grad_evals"] == 100
    assert validate(json.loads(json.dumps(recorded))) == recorded  # complete: every default already filled in
