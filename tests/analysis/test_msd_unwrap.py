"""FFT MSD against a direct sum and MDAnalysis; unwrapping and whole molecules."""

import numpy as np
import pytest
from diffusion_synthetic import blob_frames, langevin_com, liquid_like  # noqa: F401 (fixture)

from pinnff.analysis.msd import com_weights, make_whole, msd_fft, unwrap


def direct_msd(x):
    """O(T^2) reference: mean over all origins of |x(t+k) - x(t)|^2, per particle."""
    n = len(x)
    out = np.zeros((n, x.shape[1]))
    for k in range(1, n):
        out[k] = np.mean(np.sum((x[k:] - x[: n - k]) ** 2, axis=-1), axis=0)
    return out


def test_fft_msd_equals_the_direct_sum(rng):
    x = np.cumsum(rng.normal(size=(300, 7, 3)), axis=0) + 50.0  # offset tests the S1 bookkeeping
    np.testing.assert_allclose(msd_fft(x), direct_msd(x), rtol=1e-9, atol=1e-8)


def _mdanalysis_msd(com, fft):
    import MDAnalysis as mda
    from MDAnalysis.analysis.msd import EinsteinMSD
    from MDAnalysis.coordinates.memory import MemoryReader

    universe = mda.Universe.empty(com.shape[1], trajectory=True)
    universe.load_new(com.astype(np.float64), format=MemoryReader)
    return EinsteinMSD(universe, select="all", msd_type="xyz", fft=fft).run()


@pytest.mark.parametrize("fft", [True, False], ids=["fft", "windowed"])
def test_matches_mdanalysis_einstein_msd(liquid_like, fft):
    if fft:
        pytest.importorskip("tidynamics", reason="MDAnalysis' FFT MSD needs tidynamics")
    # MDAnalysis keeps coordinates in float32: give both the same float32-representable input
    com = liquid_like[0][:600, :16].astype(np.float32).astype(np.float64)
    reference = _mdanalysis_msd(com, fft)
    ours = msd_fft(com)
    np.testing.assert_allclose(ours[1:], reference.results.msds_by_particle[1:], rtol=1e-8)
    np.testing.assert_allclose(ours.mean(axis=1)[1:], reference.results.timeseries[1:], rtol=1e-9)


def test_unwrapping_a_wrapped_trajectory_restores_the_msd():
    com, _ = langevin_com(6, 400, 10, 1.0, 50.0, 0.005, seed=5)
    box = 12.0
    plain = np.stack([f.positions for f in blob_frames(com, box, seed=1, wrap=False)])
    wrapped = np.stack([f.positions for f in blob_frames(com, box, seed=1, wrap=True)])
    assert np.abs(wrapped - plain).max() > box / 2, "the test trajectory must cross the box faces"
    restored = unwrap(wrapped, np.eye(3) * box)
    # unwrapped = original + a lattice vector fixed per atom (chosen at frame 0)
    shift = restored - plain
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), atol=1e-9)
    np.testing.assert_allclose(shift[0] / box, np.round(shift[0] / box), atol=1e-9)
    np.testing.assert_allclose(msd_fft(restored), msd_fft(plain), rtol=1e-9, atol=1e-9)


def test_unwrapping_in_a_triclinic_cell(rng):
    cell = np.array([[14.0, 0.0, 0.0], [4.0, 13.0, 0.0], [-3.0, 2.5, 12.0]])
    steps = rng.normal(scale=0.8, size=(500, 5, 3))
    plain = np.cumsum(steps, axis=0)
    frac = plain @ np.linalg.inv(cell)
    wrapped = (frac - np.floor(frac)) @ cell
    restored = unwrap(wrapped, cell)
    np.testing.assert_allclose(msd_fft(restored), msd_fft(plain), rtol=1e-9, atol=1e-8)


def test_unwrapping_leaves_unwrapped_coordinates_alone(rng):
    plain = np.cumsum(rng.normal(scale=0.5, size=(200, 4, 3)), axis=0)
    np.testing.assert_allclose(unwrap(plain, np.eye(3) * 10.0), plain, atol=1e-12)


def test_make_whole_rebuilds_a_chain_longer_than_half_the_box():
    from ase import Atoms

    box = 14.0
    positions = np.array([[1.0 + 1.5 * k, 7.0, 7.0] for k in range(8)])  # 10.5 A long carbon chain
    atoms = Atoms("C8", positions=positions + [8.0, 0, 0], cell=[box] * 3, pbc=True)
    atoms.wrap()
    assert np.ptp(atoms.positions[:, 0]) > 10.6, "the chain must be split by the boundary"
    whole = make_whole(atoms, np.zeros(8, dtype=int))
    np.testing.assert_allclose(np.diff(whole[:, 0]), 1.5, atol=1e-9)
    np.testing.assert_allclose(whole[:, 1:], positions[:, 1:], atol=1e-9)


def test_com_weights_give_mass_weighted_centres():
    positions = np.array([[0.0, 0, 0], [1.0, 0, 0], [5.0, 0, 0], [5.0, 2.0, 0]])
    weights, labels = com_weights(np.array([3, 3, 7, 7]), np.array([12.0, 4.0, 1.0, 1.0]))
    np.testing.assert_array_equal(labels, [3, 7])
    np.testing.assert_allclose(weights @ positions, [[0.25, 0, 0], [5.0, 1.0, 0]])
