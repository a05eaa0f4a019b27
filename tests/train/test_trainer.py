"""Training the pure-ML baseline: validation error falls; checkpoints round-trip; corrupt ones fail clearly."""

import numpy as np
import pytest
import torch

from pinnff.curate.frames import cluster_frame
from pinnff.errors import InputError
from pinnff.geometry import random_rotation
from pinnff.io.structures import write_structures
from pinnff.model.descriptors import DescriptorConfig
from pinnff.model.clusters import load_clusters
from pinnff.model.ml_potential import MLPotential
from pinnff.model.store import load_checkpoint, save_checkpoint
from pinnff.train.trainer import TrainSettings, rmse, train

SMILES = "COCCOCCOC"  # DEGDME, the molecule of the study

SMALL = DescriptorConfig(radial_cutoff=6.0, radial_shells=6, angular_shells=2, zetas=(1.0,), lambdas=(1.0, -1.0))


def toy_labels(pool, n, seed):
    """Dimers labelled by a smooth made-up interaction: -3 exp(-(d_COM - 5)/2) kcal/mol."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        a = pool[k % len(pool)] @ random_rotation(rng).T
        shift = rng.uniform(5.5, 8.5)
        b = pool[(k + 1) % len(pool)] @ random_rotation(rng).T + np.array([0.0, 0.0, shift])
        frame = cluster_frame(SMILES, [a, b], f"t-{k}", "random", "train", [0, 1])
        frame.info.update(e_int_kcal=-3.0 * np.exp(-(shift - 5.0) / 2.0), energy_kcal=0.0, label_status="ok",
                          level="toy")
        frames.append(frame)
    return frames


@pytest.fixture(scope="module")
def data(pool, tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    write_structures(folder / "train.extxyz", toy_labels(pool, 24, 1))
    write_structures(folder / "val.extxyz", toy_labels(pool, 8, 2))
    return load_clusters(folder / "train.extxyz"), load_clusters(folder / "val.extxyz")


def test_interaction_energy_of_separated_monomers_is_zero(data):
    model = MLPotential(SMALL, hidden=(8,)).double()
    cluster = data[0][0]
    far = type(cluster)(**{**cluster.__dict__, "positions": cluster.positions + (cluster.mol_id[:, None] == 1) * 20.0})
    assert float(model.interaction_energies(model.prepare([far]))[0].detach()) == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("optimizer", ["adam", "tabu-adam"])
def test_a_short_training_run_lowers_validation_error(data, optimizer):
    train_set, val_set = data
    model = MLPotential(SMALL, hidden=(16,)).double()
    val_data = model.prepare(val_set)
    model.fit_normalization(model.prepare(train_set))
    clean = torch.tensor([c.e_int_clean_kcal for c in val_set], dtype=torch.float64)
    before = rmse(model.interaction_energies(val_data), clean)
    settings = TrainSettings(optimizer=optimizer, max_grad_evals=300, lr=3e-3, val_every=20, seed=0,
                             tabu={"local_steps": 60, "n_starts": 2, "perturbation": 0.01, "tabu_radius": 0.002})
    result = train(model, train_set, val_set, settings)
    after = rmse(model.interaction_energies(val_data), clean)
    assert after < 0.5 * before
    assert result.best_val_loss == pytest.approx(after, rel=1e-9)
    assert result.grad_evals == 300


def test_checkpoint_round_trip_and_corrupt_file(data, tmp_path):
    model = MLPotential(SMALL, hidden=(8,)).double()
    model.fit_normalization(model.prepare(data[0]))
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, {"train_sha256": "abc", "sigma_kcal": 1.0})
    loaded, metadata = load_checkpoint(path, ("ml",))
    prepared = model.prepare(data[1])
    torch.testing.assert_close(loaded.interaction_energies(prepared), model.interaction_energies(prepared), rtol=0, atol=0)
    assert metadata == {"sigma_kcal": 1.0, "train_sha256": "abc"}

    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(InputError, match="corrupt.pt: not a readable checkpoint"):
        load_checkpoint(corrupt, ("ml",))
    with pytest.raises(InputError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "none.pt", ("ml",))
    with pytest.raises(InputError, match=r"model.pt: a model of kind 'ml'; this needs one of \['pinn', 'physics'\]"):
        load_checkpoint(path, ("pinn", "physics"))


def test_evaluate_any_atom_order_and_plain_xyz(data, pool, tmp_path):
    import subprocess
    import sys

    import pandas as pd
    from ase.io import write

    model = MLPotential(SMALL, hidden=(8,)).double()
    model.fit_normalization(model.prepare(data[0]))
    save_checkpoint(tmp_path / "model.pt", model, {"model": "ml"})
    frames = toy_labels(pool, 3, 9)
    write_structures(tmp_path / "labelled.extxyz", frames)
    rng = np.random.default_rng(0)
    shuffled = []
    for atoms in frames:
        plain = atoms[rng.permutation(len(atoms))]
        plain.info, plain.arrays = {}, {"numbers": plain.numbers, "positions": plain.positions}
        shuffled.append(plain)
    write(tmp_path / "plain.xyz", shuffled, format="xyz")
    for name in ("labelled.extxyz", "plain.xyz"):
        subprocess.run([sys.executable, "-m", "pinnff.cli", "evaluate", str(tmp_path / "model.pt"),
                        str(tmp_path / name), "--out", str(tmp_path / f"{name}.csv")], check=True, capture_output=True)
    labelled, plain = pd.read_csv(tmp_path / "labelled.extxyz.csv"), pd.read_csv(tmp_path / "plain.xyz.csv")
    expected = model.interaction_energies(model.prepare(load_clusters(tmp_path / "labelled.extxyz"))).detach().numpy()
    np.testing.assert_allclose(labelled.e_int_pred_kcal, expected, atol=1e-8)
    np.testing.assert_allclose(plain.e_int_pred_kcal, expected, atol=1e-6)  # xyz keeps fewer digits
    np.testing.assert_allclose(labelled.e_int_ref_kcal, [f.info["e_int_kcal"] for f in frames], atol=1e-8)
    assert "e_int_ref_kcal" not in plain.columns
