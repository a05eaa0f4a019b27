"""Parameter heads: every physical constraint holds exactly, for trained-like and random weights."""

import numpy as np
import pytest
import torch

from pinnff.errors import InputError
from pinnff.model.descriptors import SymmetryFunctions
from pinnff.model.heads import POSITIVE_KEYS, HeadConfig, ParameterBounds, ParameterHeads, symmetry_classes

SMILES = "COCCOCCOC"
EPS = torch.finfo(torch.float64).eps
# SCIENCE.md priors for ether atoms: (polarizability, CT A, CT B, CP Z, CP alpha, vdW R, vdW eps)
TABLE = {
    8: dict(polarizability=0.812, ct_A=7.979, ct_B=3.116, cp_core=8.0, cp_alpha=3.978, vdw_radius=3.729, vdw_epsilon=0.111, charge=-0.4),
    6: dict(polarizability=1.620, ct_A=11.600, ct_B=4.037, cp_core=6.0, cp_alpha=5.531, vdw_radius=3.826, vdw_epsilon=0.134, charge=0.5 / 6),
    1: dict(polarizability=0.480, ct_A=12.918, ct_B=5.273, cp_core=1.0, cp_alpha=3.024, vdw_radius=3.464, vdw_epsilon=0.008, charge=0.05),
}
WIDE = HeadConfig(
    hidden=(16,),
    relative_range=dict(polarizability=0.5, cp_core=0.2, cp_alpha=0.5, ct_A=0.8, ct_B=0.5, vdw_radius=0.15, vdw_epsilon=0.9),
    zero_y_odd=False,
)


def make_priors(numbers, rng):
    priors = {key: torch.tensor([TABLE[int(z)][key] for z in numbers], dtype=torch.float64) for key in TABLE[1]}
    n = len(numbers)
    priors["dipole"] = torch.tensor(rng.normal(scale=0.1, size=(n, 3)))
    quad = rng.normal(scale=0.2, size=(n, 3, 3))
    priors["quadrupole"] = torch.tensor(quad + quad.transpose(0, 2, 1))  # symmetric, not traceless: the heads project it
    return priors


@pytest.fixture(scope="module")
def batch(pool):
    """Three DEGDME molecules (69 atoms) with odd molecule labels, their descriptors, classes and priors."""
    from pinnff.chem.molecule import template

    numbers = torch.tensor([atom.GetAtomicNum() for atom in template(SMILES).GetAtoms()] * 3)
    positions = torch.tensor(np.concatenate([pool[0], pool[1] + [5.0, 0, 0], pool[2] + [0, 6.0, 0]]))
    mol_id = torch.tensor([7] * 23 + [2] * 23 + [11] * 23)
    classes = torch.tensor(symmetry_classes(SMILES, mol_id.numpy()))
    descriptors = SymmetryFunctions()(positions, numbers, mol_id)
    return dict(positions=positions, numbers=numbers, mol_id=mol_id, classes=classes, descriptors=descriptors, priors=make_priors(numbers, np.random.default_rng(5)))


def randomized(config, seed, std):
    torch.manual_seed(seed)
    heads = ParameterHeads(SymmetryFunctions().n_features, config).double()
    with torch.no_grad():
        for parameter in heads.parameters():
            parameter.normal_(0.0, std)
    return heads


def detached(out):
    return {key: value.detach() for key, value in out.items()}


def check_constraints(out, batch, config, mol_charge=None):
    out = detached(out)
    mol_id, classes, priors = batch["mol_id"], batch["classes"], batch["priors"]
    molecules = torch.unique(mol_id)
    totals = torch.zeros(len(molecules), dtype=torch.float64) if mol_charge is None else mol_charge
    for key in POSITIVE_KEYS:
        value, prior, r = out[key], priors[key], config.relative_range[key]
        assert bool((value > 0).all()), key
        # priors are per element here, so class averaging changes them by at most round-off
        assert bool((value >= prior * (1 - r) * (1 - 4 * EPS)).all()) and bool((value <= prior * (1 + r) * (1 + 4 * EPS)).all()), key
    for m, total in zip(molecules, totals):
        members = mol_id == m
        assert abs(float(out["charge"][members].detach().sum() - total)) < 1e-14
        shift = (float(priors["charge"][members].sum()) - float(total)) / int(members.sum())
        deviation = out["charge"].detach()[members] - (priors["charge"][members] - shift)
        assert float(deviation.abs().max()) <= config.charge_range * (1 + 1e-12)
        for c in torch.unique(classes[members]):
            same = members & (classes == c)
            for key, value in out.items():
                assert torch.equal(value[same], value[same][:1].expand_as(value[same])), (key, int(c))
    quad = out["quadrupole"]
    assert torch.equal(quad, quad.transpose(1, 2))
    trace = quad[:, 0, 0] + quad[:, 1, 1] + quad[:, 2, 2]
    assert float(trace.abs().max()) == 0.0
    assert out["dipole"].shape == (len(mol_id), 3) and quad.shape == (len(mol_id), 3, 3)


def test_symmetry_classes_of_degdme():
    classes = symmetry_classes(SMILES, np.zeros(23))
    assert len(np.unique(classes)) == 8  # methyl C, end O, two CH2 carbons, central O, methyl H, two CH2 H
    assert classes[0] == classes[8] and classes[1] == classes[7] and classes[2] == classes[6] and classes[3] == classes[5]
    assert len({classes[1], classes[4]}) == 2  # end and central oxygens differ
    assert len(set(classes[9:12]) | set(classes[20:23])) == 1
    with pytest.raises(InputError, match="has 22 atoms"):
        symmetry_classes(SMILES, np.zeros(22))


@pytest.mark.parametrize("seed,std", [(0, 0.3), (1, 3.0), (2, 30.0)])
def test_constraints_exact_for_random_weights(batch, seed, std):
    heads = randomized(WIDE, seed, std)
    out = detached(heads(batch["descriptors"], batch["numbers"], batch["mol_id"], batch["priors"], batch["classes"]))
    check_constraints(out, batch, WIDE)
    raw = heads.raw(batch["descriptors"], batch["numbers"]).detach()
    if std >= 3.0:  # saturated: the bounds are reached, so the checks above are not vacuous
        near = [(out[k] / batch["priors"][k] - 1).abs().max() / WIDE.relative_range[k] for k in POSITIVE_KEYS]
        assert min(float(x) for x in near) > 0.95
        excess = torch.zeros(3, dtype=torch.float64).index_add(0, torch.unique(batch["mol_id"], return_inverse=True)[1], WIDE.charge_range * torch.tanh(raw[:, 0]))
        assert float(excess.abs().max()) > 0.5  # a large excess was redistributed
    if std >= 3.0:
        return
    # without class averaging, equivalent atoms differ: averaging is what makes them equal
    free = detached(heads(batch["descriptors"], batch["numbers"], batch["mol_id"], batch["priors"]))
    assert float((free["charge"][0] - free["charge"][8]).abs()) > 1e-6


def test_charged_molecules_and_y_odd_components(batch):
    config = HeadConfig(hidden=(8,))
    heads = randomized(config, 3, 2.0)
    totals = torch.tensor([1.0, -1.0, 0.0], dtype=torch.float64)  # sorted labels 2, 7, 11
    priors = dict(batch["priors"])
    order = torch.unique(batch["mol_id"], return_inverse=True)[1]
    priors["charge"] = priors["charge"] + totals[order] / 23
    local = dict(batch, priors=priors)
    out = detached(heads(batch["descriptors"], batch["numbers"], batch["mol_id"], priors, batch["classes"], mol_charge=totals))
    check_constraints(out, local, config, mol_charge=totals)
    assert float(out["dipole"][:, 1].abs().max()) == 0.0
    assert float(out["quadrupole"][:, [0, 1, 2, 1], [1, 0, 1, 2]].abs().max()) == 0.0
    # default cp_core range is 0: the core charge stays at its prior
    torch.testing.assert_close(out["cp_core"], batch["priors"]["cp_core"], rtol=4 * EPS, atol=0)


def test_bounds_built_once_map_each_new_output_by_the_closed_forms(batch):
    """A training batch or an MD box builds its bounded maps once and reuses them for every new raw
    output: for successive outputs the positive parameters are p0 (1 + r tanh(raw + local)) and the
    dipoles mu0 + d tanh(.), written out here with the class means taken by hand; raw outputs of another
    dtype are refused."""
    bounds = ParameterBounds(batch["mol_id"], batch["priors"], WIDE, batch["classes"])
    labels = [(int(m), int(c)) for m, c in zip(batch["mol_id"], batch["classes"])]

    def class_mean(x: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        for label in set(labels):
            rows = [k for k, other in enumerate(labels) if other == label]
            out[rows] = x[rows].mean(dim=0)
        return out

    for seed in (0, 1):
        raw = torch.randn(len(batch["numbers"]), 16, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        local = 0.1 * raw.flip(0)
        out = bounds(raw, local)
        squashed = torch.tanh(class_mean(raw) + local)
        for column, key in enumerate(POSITIVE_KEYS):
            expected = class_mean(batch["priors"][key]) * (1 + WIDE.relative_range[key] * squashed[:, 9 + column])
            torch.testing.assert_close(out[key], expected, rtol=1e-12, atol=0)
        torch.testing.assert_close(out["dipole"], class_mean(batch["priors"]["dipole"]) + WIDE.dipole_range
                                   * squashed[:, 1:4], rtol=1e-12, atol=1e-15)
        check_constraints(bounds(raw), batch, WIDE)
    with pytest.raises(InputError, match="built for torch.float64"):
        bounds(raw.float())


def test_atom_order_does_not_matter(batch, rng):
    heads = randomized(WIDE, 6, 1.0)
    perm = torch.tensor(rng.permutation(len(batch["numbers"])))
    out = detached(heads(batch["descriptors"], batch["numbers"], batch["mol_id"], batch["priors"], batch["classes"]))
    priors = {key: value[perm] for key, value in batch["priors"].items()}
    permuted = detached(heads(batch["descriptors"][perm], batch["numbers"][perm], batch["mol_id"][perm], priors, batch["classes"][perm]))
    for key in out:
        torch.testing.assert_close(permuted[key], out[key][perm], rtol=1e-13, atol=1e-14)


def test_untrained_heads_stay_near_priors(batch):
    torch.manual_seed(0)
    heads = ParameterHeads(SymmetryFunctions().n_features).double()
    heads.fit_normalization(batch["descriptors"], batch["numbers"])
    out = detached(heads(batch["descriptors"], batch["numbers"], batch["mol_id"], batch["priors"], batch["classes"]))
    for key in POSITIVE_KEYS:
        assert float((out[key] / batch["priors"][key] - 1).abs().max()) < 0.05, key
    assert float((out["charge"] - batch["priors"]["charge"]).abs().max()) < 0.05


def test_fit_normalization_standardizes_each_element(batch):
    heads = ParameterHeads(SymmetryFunctions().n_features, HeadConfig(min_feature_scale=0.0)).double()
    heads.fit_normalization(batch["descriptors"], batch["numbers"])
    for e, z in enumerate(heads.config.species):
        rows = batch["descriptors"][batch["numbers"] == z]
        scaled = (rows - heads.feature_mean[e]) / heads.feature_std[e]
        assert float(scaled.mean(0).abs().max()) < 1e-12
        varying = rows.std(0, unbiased=False) > 1e-8
        np.testing.assert_allclose(scaled[:, varying].std(0, unbiased=False).numpy(), 1.0, rtol=1e-10)


def test_network_inputs_built_once_give_the_same_outputs_and_go_stale_with_the_statistics(batch):
    """Standardized inputs split by element (the training path) give the outputs of the descriptors bit for
    bit, with the same gradients of the weights; after the feature statistics change they are refused."""
    from pinnff.errors import InputError

    heads = ParameterHeads(SymmetryFunctions().n_features, HeadConfig(init_scale=1.0)).double()
    heads.fit_normalization(batch["descriptors"], batch["numbers"])
    inputs = heads.inputs(batch["descriptors"], batch["numbers"])
    direct, cached = heads.raw(batch["descriptors"], batch["numbers"]), heads.raw(inputs)
    assert torch.equal(direct, cached)
    weight = torch.randn(direct.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    first = torch.autograd.grad((direct * weight).sum(), list(heads.parameters()))
    second = torch.autograd.grad((heads.raw(inputs) * weight).sum(), list(heads.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    heads.fit_normalization(batch["descriptors"][::2], batch["numbers"][::2])
    with pytest.raises(InputError, match="other feature statistics"):
        heads.raw(inputs)


def test_fit_normalization_never_magnifies_a_feature_beyond_its_floor():
    """Features nearly constant in training (a bond length: std 1e-4 of its value; an empty radial shell:
    1e-9) are divided by 0.1 of the RMS of all the element's features, not by their std, so a small change
    of them moves the network input by little; a feature that varies keeps its own std."""
    rows = torch.tensor([[2.0, 0.0, 1e-9], [2.0002, 1.0, 0.0], [1.9998, 2.0, 2e-9]], dtype=torch.float64)
    heads = ParameterHeads(3, HeadConfig(species=(1,), min_feature_scale=0.1)).double()
    heads.fit_normalization(rows, torch.ones(3, dtype=torch.long))
    floor = 0.1 * float(rows.pow(2).mean().sqrt())
    assert float(heads.feature_std[0, 0]) == pytest.approx(floor, rel=1e-12)
    assert float(heads.feature_std[0, 2]) == pytest.approx(floor, rel=1e-12)
    assert float(heads.feature_std[0, 1]) == pytest.approx(float(rows[:, 1].std(unbiased=False)), rel=1e-12)


def test_gradients_through_descriptors_and_heads(batch):
    """d(parameters)/d(positions) from autograd matches finite differences (one molecule)."""
    heads = randomized(HeadConfig(hidden=(8,), relative_range=dict(cp_core=0.3)), 4, 0.5)
    sf = SymmetryFunctions()
    numbers, classes = batch["numbers"][:23], batch["classes"][:23]
    mol_id = torch.zeros(23, dtype=torch.long)
    priors = {key: value[:23] for key, value in batch["priors"].items()}
    generator = torch.Generator().manual_seed(0)
    weights = {key: torch.randn(value.shape, generator=generator, dtype=torch.float64) for key, value in priors.items()}

    moving = torch.tensor([0, 1, 4, 9, 14])  # methyl C, end O, central O, methyl H, CH2 H
    fixed = batch["positions"][:23]

    def scalar(subset):
        x = fixed.index_copy(0, moving, subset)
        out = heads(sf(x, numbers, mol_id), numbers, mol_id, priors, classes)
        return sum((out[key] * weights[key]).sum() for key in out)

    subset = fixed[moving].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(scalar, (subset,), eps=1e-6, atol=1e-6, rtol=1e-5)


def test_bad_priors_and_settings_are_rejected(batch):
    heads = ParameterHeads(SymmetryFunctions().n_features, HeadConfig(hidden=(4,))).double()
    args = (batch["descriptors"], batch["numbers"], batch["mol_id"])
    priors = dict(batch["priors"])
    del priors["ct_A"]
    with pytest.raises(InputError, match="prior for 'ct_A' is missing"):
        heads(*args, priors)
    priors = dict(batch["priors"], vdw_epsilon=-batch["priors"]["vdw_epsilon"])
    with pytest.raises(InputError, match="'vdw_epsilon' must be positive"):
        heads(*args, priors)
    priors = dict(batch["priors"], charge=batch["priors"]["charge"] + 0.01)
    with pytest.raises(InputError, match="sum to 0.23"):
        heads(*args, priors)
    with pytest.raises(InputError, match=r"relative_range\[ct_B\] = 1.0"):
        HeadConfig(relative_range=dict(ct_B=1.0))


def test_zero_sum_redistribution_keeps_bounds_and_finite_gradients():
    from pinnff.model.heads import _Groups, _zero_sum_within_bounds

    generator = torch.Generator().manual_seed(0)
    bound = 0.3
    labels = torch.repeat_interleave(torch.arange(4), torch.tensor([5, 1, 7, 3]))
    raw = torch.randn(16, generator=generator, dtype=torch.float64) * 4
    raw[:5] = 50.0  # molecule 0 saturated at +bound: the extreme excess D
    raw[8] = -50.0
    raw.requires_grad_(True)
    delta = bound * torch.tanh(raw)
    shifted = _zero_sum_within_bounds(delta, bound, _Groups(labels))
    sums = torch.zeros(4, dtype=torch.float64).index_add(0, labels, shifted.detach())
    assert float(sums.abs().max()) < 1e-15
    assert float(shifted.detach().abs().max()) <= bound
    torch.testing.assert_close(shifted[:6].detach(), torch.zeros(6, dtype=torch.float64), rtol=0, atol=1e-16)  # saturated and lone atoms
    (grad,) = torch.autograd.grad(shifted.pow(2).sum(), raw)
    assert bool(torch.isfinite(grad).all())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_network_round_trips_through_a_weights_only_checkpoint(batch, tmp_path, dtype):
    from pinnff.model.network import ParameterNetwork

    torch.manual_seed(0)
    network = ParameterNetwork(heads=HeadConfig(hidden=(8, 8), relative_range=dict(cp_core=0.1))).to(dtype)
    network.heads.fit_normalization(network.descriptors(batch["positions"].to(dtype), batch["numbers"], batch["mol_id"]), batch["numbers"])
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
    path = tmp_path / "network.pt"
    torch.save({"config": network.config_dict(), "state": network.state_dict()}, path)
    saved = torch.load(path, weights_only=True)
    clone = ParameterNetwork.from_config_dict(saved["config"]).to(dtype)
    clone.load_state_dict(saved["state"])
    priors = {key: value.to(dtype) for key, value in batch["priors"].items()}
    args = (batch["positions"].to(dtype), batch["numbers"], batch["mol_id"], priors, batch["classes"])
    first, second = detached(network(*args)), detached(clone(*args))
    eps = torch.finfo(dtype).eps  # BLAS kernels may round differently for differently aligned weights
    for key in first:
        torch.testing.assert_close(first[key], second[key], rtol=8 * eps, atol=8 * eps)
    # the exact constraints also hold in this precision
    sums = torch.zeros(3, dtype=dtype).index_add(0, torch.unique(batch["mol_id"], return_inverse=True)[1], first["charge"])
    assert float(sums.abs().max()) < 50 * torch.finfo(dtype).eps
    quad = first["quadrupole"]
    assert torch.equal(quad, quad.transpose(1, 2)) and float((quad[:, 0, 0] + quad[:, 1, 1] + quad[:, 2, 2]).abs().max()) == 0.0
