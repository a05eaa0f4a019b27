"""Label noise: zero mean, the requested std, seeded, training labels only."""

import numpy as np
import pytest
from ase import Atoms

from pinnff.noise import add_noise, noise_rng, noise_statistics


def clean_frames(n):
    frames = []
    for k in range(n):
        atoms = Atoms("He2", positions=[[0, 0, 0], [0, 0, 3.0 + k * 1e-3]])
        atoms.arrays["mol_id"] = np.array([0, 1])
        atoms.info.update(sample_id=f"s-{k}", protocol="random", split="train", n_molecules=2,
                          e_int_kcal=-0.1 * (k % 7), energy_kcal=-1000.0 - k, label_status="ok")
        frames.append(atoms)
    return frames


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_realized_noise_has_zero_mean_and_sigma_std(sigma):
    n = 4000
    stats = noise_statistics(add_noise(clean_frames(n), sigma, noise_rng(14, sigma, "A")))
    # 4-sigma sampling bounds: mean ~ N(0, sigma^2/n), std ~ N(sigma, sigma^2/(2n))
    assert abs(stats["mean_kcal"]) < 4 * sigma / np.sqrt(n)
    assert abs(stats["std_kcal"] - sigma) < 4 * sigma / np.sqrt(2 * n)
    assert stats["n"] == n and stats["sem_kcal"] == pytest.approx(sigma / np.sqrt(n))


def test_noise_keeps_clean_labels_and_is_seeded():
    frames = clean_frames(50)
    one = add_noise(frames, 1.0, noise_rng(14, 1.0, "A"))
    two = add_noise(frames, 1.0, noise_rng(14, 1.0, "A"))
    other_set = add_noise(frames, 1.0, noise_rng(14, 1.0, "B"))
    assert [a.info["e_int_kcal"] for a in one] == [a.info["e_int_kcal"] for a in two]
    assert [a.info["e_int_kcal"] for a in one] != [a.info["e_int_kcal"] for a in other_set]
    for clean, noisy in zip(frames, one):
        assert noisy.info["e_int_clean_kcal"] == clean.info["e_int_kcal"]
        assert noisy.info["energy_kcal"] - clean.info["energy_kcal"] == pytest.approx(
            noisy.info["e_int_kcal"] - clean.info["e_int_kcal"])
        assert "e_int_clean_kcal" not in clean.info  # inputs untouched


def test_zero_sigma_changes_nothing():
    frames = clean_frames(10)
    noisy = add_noise(frames, 0.0, noise_rng(14, 0.0, "A"))
    assert [a.info["e_int_kcal"] for a in noisy] == [a.info["e_int_kcal"] for a in frames]
