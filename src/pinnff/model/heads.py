"""Per-element networks mapping descriptors to AMOEBA+ per-atom parameters (torch).

Every parameter is a bounded correction to a physical prior supplied by the
caller (a dict of per-atom tensors, same keys and units as the output):

=================  ==========  =================  =====================================
key                shape       unit               form
=================  ==========  =================  =====================================
``charge``         (n,)        e                  q0 + dq, |dq| <= ``charge_range``,
                                                  molecular sums exact (see below)
``dipole``         (n, 3)      e*A, local frame   mu0 + ``dipole_range`` * tanh(.)
``quadrupole``     (n, 3, 3)   e*A^2, local frame traceless symmetric, each of xx, yy,
                                                  xy, xz, yz within ``quadrupole_range``
                                                  of the prior, zz = -(xx + yy)
``polarizability`` (n,)        A^3                p0 * (1 + r * tanh(.)), r < 1
``cp_core``        (n,)        e                  likewise (r = 0 keeps the prior)
``cp_alpha``       (n,)        1/A                likewise
``ct_A``           (n,)        Tinker CT units    likewise
``ct_B``           (n,)        1/A                likewise
``vdw_radius``     (n,)        A                  likewise
``vdw_epsilon``    (n,)        kcal/mol           likewise
=================  ==========  =================  =====================================

Constraints, exact up to floating-point round-off, for any weights:

- positive parameters lie in ``[p0 (1 - r), p0 (1 + r)]`` with the relative
  range ``r`` in ``[0, 1)`` per key, hence positive (priors must be > 0);
- each molecule's charges sum to its total charge (default 0). The prior
  charges are first shifted uniformly per molecule to that total (they must
  already be within 1e-3 e of it); the raw corrections ``dq`` in
  ``[-d, d]`` are then made to sum to zero by moving each against the
  excess ``E`` in proportion to its room to the bound it moves towards
  (``dq' = dq - E (dq + d) / (D + |E|)`` for ``E > 0``, ``dq' = dq -
  E (d - dq) / (D + |E|)`` for ``E < 0``, ``D = n_atoms d``), which keeps
  every ``|dq'| <= d``;
- quadrupoles are symmetric and traceless by construction;
- symmetry-equivalent atoms of a molecule (same ``classes`` label, e.g. RDKit
  canonical ranks without tie breaking, see :func:`symmetry_classes`) get
  identical parameters: raw network outputs and priors are averaged over
  each class per molecule before the bounded maps, which treat the members
  of a class identically (per-atom ``local`` corrections, added after the
  averaging, are the one exception: see :func:`bounded_parameters`).

Local-frame multipoles: without chirality flips of the frames (see
``pinnff.physics.frames``), mirror-image equivalent atoms (the two H of a
CH2) have mirror-image frames, in which the components odd in y (dipole y,
quadrupole xy and yz) must change sign. They cannot be both equal and
opposite, so with ``zero_y_odd`` (the default) those components are exactly
zero, as in AMOEBA parameter files for atoms without chiral frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from pinnff.errors import InputError
from pinnff.model.settings import PlainSettings

PARAMETER_KEYS = (
    "charge",
    "dipole",
    "quadrupole",
    "polarizability",
    "cp_core",
    "cp_alpha",
    "ct_A",
    "ct_B",
    "vdw_radius",
    "vdw_epsilon",
)
POSITIVE_KEYS = ("polarizability", "cp_core", "cp_alpha", "ct_A", "ct_B", "vdw_radius", "vdw_epsilon")
# raw output columns: charge 1, dipole 3 (x, y, z), quadrupole 5 (xx, yy, xy, xz, yz), positives 7
_DIPOLE = slice(1, 4)
_QUAD = slice(4, 9)
_POSITIVE = slice(9, 16)
N_OUTPUTS = 16
_QUAD_INDEX = ((0, 0), (1, 1), (0, 1), (0, 2), (1, 2))
_Y_ODD_DIPOLE = torch.tensor([1.0, 0.0, 1.0])
_Y_ODD_QUAD = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0])

_DEFAULT_RANGES = {
    "polarizability": 0.5,
    "cp_core": 0.0,
    "cp_alpha": 0.5,
    "ct_A": 0.8,
    "ct_B": 0.5,
    "vdw_radius": 0.15,
    "vdw_epsilon": 0.8,
}


@dataclass(frozen=True)
class HeadConfig(PlainSettings):
    """Network and bound settings.

    ``species``: atomic numbers with their own network. ``hidden``: hidden
    layer widths. ``relative_range``: per positive key, ``r`` in [0, 1)
    (``cp_core`` defaults to 0: the core charge is the valence-electron
    count). ``charge_range`` e, ``dipole_range`` e*A and ``quadrupole_range``
    e*A^2 are absolute bounds on the corrections. ``init_scale`` scales the
    initial output layer, so an untrained network stays near the priors.
    ``min_feature_scale``: the per-feature standardization divides by at
    least this fraction of the RMS value of all the element's descriptors,
    so a descriptor that barely varies over the training geometries (a bond
    length across rigid conformers, a radial shell no neighbour occupies)
    is not magnified into an out-of-range input when molecules vibrate (MD).
    """

    species: tuple[int, ...] = (1, 6, 8)
    hidden: tuple[int, ...] = (32, 32)
    relative_range: dict = field(default_factory=lambda: dict(_DEFAULT_RANGES))
    charge_range: float = 0.3
    dipole_range: float = 0.2
    quadrupole_range: float = 0.3
    zero_y_odd: bool = True
    init_scale: float = 0.01
    min_feature_scale: float = 0.1

    SETTINGS_NAME = "head settings"

    def __post_init__(self):
        ranges = dict(_DEFAULT_RANGES)
        ranges.update(self.relative_range)
        unknown = set(ranges) - set(POSITIVE_KEYS)
        if unknown:
            raise InputError(f"relative_range has unknown keys {sorted(unknown)}; expected {list(POSITIVE_KEYS)}")
        for key, value in ranges.items():
            if not 0.0 <= float(value) < 1.0:
                raise InputError(f"relative_range[{key}] = {value} must lie in [0, 1) to keep {key} positive")
        for name in ("charge_range", "dipole_range", "quadrupole_range", "min_feature_scale"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)}")
        object.__setattr__(self, "relative_range", {key: float(ranges[key]) for key in POSITIVE_KEYS})


def symmetry_classes(smiles: str, mol_id) -> np.ndarray:
    """Symmetry class (n,) of each atom: RDKit canonical rank with ``breakTies=False`` in the template.

    Atoms of each molecule (same ``mol_id``, any labels) must appear in
    pinnff's template atom order for ``smiles`` (as
    :func:`pinnff.chem.topology.template_order` arranges them). Atoms of one
    molecule with equal labels are topologically equivalent.
    """
    from rdkit import Chem

    from pinnff.chem.molecule import template

    ranks = np.array(list(Chem.CanonicalRankAtoms(template(smiles), breakTies=False)), dtype=np.int64)
    mol_id = np.asarray(mol_id)
    classes = np.empty(len(mol_id), dtype=np.int64)
    for molecule in np.unique(mol_id):
        members = np.flatnonzero(mol_id == molecule)
        if len(members) != len(ranks):
            raise InputError(f"molecule {molecule} has {len(members)} atoms, the template of {smiles} has {len(ranks)}")
        classes[members] = ranks
    return classes


def mlp(n_in: int, hidden: tuple[int, ...], n_out: int, init_scale: float) -> torch.nn.Sequential:
    """Linear + SiLU layers of widths ``hidden``, then a linear output whose initial weights are scaled by
    ``init_scale`` (0: a network that starts at exactly zero) and whose bias starts at zero."""
    layers: list[torch.nn.Module] = []
    width = n_in
    for size in hidden:
        layers += [torch.nn.Linear(width, size), torch.nn.SiLU()]
        width = size
    last = torch.nn.Linear(width, n_out)
    with torch.no_grad():
        last.weight.mul_(init_scale)
        last.bias.zero_()
    layers.append(last)
    return torch.nn.Sequential(*layers)


class _Groups:
    """Averaging over groups of atoms: ``mean(x)`` replaces each row by its group's mean."""

    def __init__(self, labels: torch.Tensor):
        unique, self.index = torch.unique(labels, return_inverse=True)
        self.size = unique.numel()
        self.count = torch.zeros(self.size, dtype=torch.long, device=labels.device).index_add_(0, self.index, torch.ones_like(self.index))

    def sum(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros((self.size,) + x.shape[1:]).index_add(0, self.index, x)

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        shape = (-1,) + (1,) * (x.dim() - 1)
        return (self.sum(x) / self.count.to(x.dtype).reshape(shape)).index_select(0, self.index)


@dataclass(frozen=True)
class NetworkInputs:
    """Standardized network inputs of ``n_atoms`` atoms (:meth:`ParameterHeads.inputs`): per element its
    index, its rows (m,) and inputs (m, n_features); ``dtype`` and ``device`` of the outputs; ``stamp``
    the feature statistics they were standardized with (:meth:`ParameterHeads.normalization_stamp`)."""

    blocks: list
    n_atoms: int
    dtype: torch.dtype
    device: torch.device
    stamp: tuple


class ParameterHeads(torch.nn.Module):
    """Descriptors (n, n_features) -> dict of AMOEBA+ per-atom parameters (see the module docstring).

    One MLP per element of ``config.species``; inputs are standardized per
    element with buffers set by :meth:`fit_normalization`.
    """

    def __init__(self, n_features: int, config: HeadConfig | None = None):
        super().__init__()
        self.config = config = config or HeadConfig()
        self.n_features = n_features
        self.networks = torch.nn.ModuleList(mlp(n_features, config.hidden, N_OUTPUTS, config.init_scale) for _ in config.species)
        self.register_buffer("feature_mean", torch.zeros(len(config.species), n_features))
        self.register_buffer("feature_std", torch.ones(len(config.species), n_features))
        lookup = torch.full((max(config.species) + 1,), -1, dtype=torch.long)
        lookup[torch.as_tensor(config.species)] = torch.arange(len(config.species))
        self.register_buffer("species_index", lookup, persistent=False)

    def _element(self, numbers: torch.Tensor) -> torch.Tensor:
        numbers = torch.as_tensor(numbers, dtype=torch.long, device=self.species_index.device)
        known = (numbers >= 0) & (numbers < self.species_index.numel())
        index = torch.where(known, self.species_index[numbers.clamp(0, self.species_index.numel() - 1)], -1)
        if bool((index < 0).any()):
            raise InputError(f"atomic numbers {sorted(set(numbers[index < 0].tolist()))} have no parameter network (species {list(self.config.species)})")
        return index

    @torch.no_grad()
    def fit_normalization(self, descriptors: torch.Tensor, numbers: torch.Tensor) -> None:
        """Set the per-element input mean and scale from training descriptors (n, n_features): the scale is
        the standard deviation, but at least ``min_feature_scale`` times the RMS of all the element's
        descriptors."""
        element = self._element(numbers)
        for e in range(len(self.config.species)):
            rows = descriptors[element == e]
            if len(rows) == 0:
                continue
            self.feature_mean[e] = rows.mean(0).to(self.feature_mean.dtype)
            std = rows.std(0, unbiased=False) if len(rows) > 1 else torch.zeros_like(rows[0])
            std = torch.clamp(std, min=self.config.min_feature_scale * float(rows.pow(2).mean().sqrt()))
            self.feature_std[e] = torch.where(std > 1e-8, std, torch.ones_like(std)).to(self.feature_std.dtype)

    def inputs(self, descriptors: torch.Tensor, numbers: torch.Tensor) -> "NetworkInputs":
        """The networks' standardized inputs of descriptors (n, n_features) of atoms ``numbers`` (n,), split
        by element: build once and pass to :meth:`raw` where the descriptors are fixed (training)."""
        element = self._element(numbers).to(descriptors.device)
        blocks = []
        for e, network in enumerate(self.networks):
            rows = torch.nonzero(element == e).squeeze(1)
            if rows.numel() == 0:
                continue
            mean = self.feature_mean[e].to(descriptors.dtype)
            std = self.feature_std[e].to(descriptors.dtype)
            dtype = next(network.parameters()).dtype
            blocks.append((e, rows, ((descriptors.index_select(0, rows) - mean) / std).to(dtype)))
        return NetworkInputs(blocks, descriptors.shape[0], descriptors.dtype, descriptors.device,
                             self.normalization_stamp())

    def normalization_stamp(self) -> tuple:
        """Identifies these heads' current feature statistics (changed by every write to them)."""
        return (id(self), self.feature_mean._version, self.feature_std._version)

    def raw(self, descriptors: "torch.Tensor | NetworkInputs", numbers: torch.Tensor | None = None) -> torch.Tensor:
        """Unbounded network outputs (n, 16), before symmetrization and the bounded maps, of descriptors
        (n, n_features) of atoms ``numbers`` (n,), or of their :meth:`inputs`."""
        inputs = descriptors if isinstance(descriptors, NetworkInputs) else self.inputs(descriptors, numbers)
        if inputs.stamp != self.normalization_stamp():
            raise InputError("these network inputs were standardized by other feature statistics")
        out = torch.zeros(inputs.n_atoms, N_OUTPUTS, dtype=inputs.dtype, device=inputs.device)
        for e, rows, x in inputs.blocks:
            out = out.index_copy(0, rows, self.networks[e](x).to(inputs.dtype))
        return out

    def forward(
        self,
        descriptors: torch.Tensor,
        numbers: torch.Tensor,
        mol_id: torch.Tensor,
        priors: dict[str, torch.Tensor],
        classes: torch.Tensor | None = None,
        mol_charge: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Per-atom parameters from ``descriptors`` (n, n_features) and ``numbers`` (n,) atomic numbers;
        the other arguments as in :func:`bounded_parameters`."""
        return bounded_parameters(self.raw(descriptors, numbers), mol_id, priors, self.config, classes, mol_charge)


class ParameterTable(torch.nn.Module):
    """One learnable raw parameter row per atom type: the physics-only model (no network).

    ``n_types`` rows of :data:`N_OUTPUTS` raw values, zero at the start (the
    priors), mapped to parameters by the same bounded maps as the network
    heads, so both models obey the same constraints.
    """

    def __init__(self, n_types: int, config: HeadConfig | None = None):
        super().__init__()
        self.config = config or HeadConfig()
        self.n_types = n_types
        self.raw = torch.nn.Parameter(torch.zeros(n_types, N_OUTPUTS, dtype=torch.float64))

    def rows(self, types: torch.Tensor) -> torch.Tensor:
        """Raw rows (n, :data:`N_OUTPUTS`) of atom types ``types`` (n,) in ``[0, n_types)``."""
        types = torch.as_tensor(types, dtype=torch.long, device=self.raw.device)
        if types.numel() and (int(types.min()) < 0 or int(types.max()) >= self.n_types):
            raise InputError(f"atom types must lie in [0, {self.n_types}), got {int(types.min())}..{int(types.max())}")
        return self.raw.index_select(0, types)


def bounded_parameters(
    raw: torch.Tensor,
    mol_id: torch.Tensor,
    priors: dict[str, torch.Tensor],
    config: HeadConfig,
    classes: torch.Tensor | None = None,
    mol_charge: torch.Tensor | None = None,
    local: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Per-atom parameters (dict keyed by :data:`PARAMETER_KEYS`, shapes and units in the module docstring).

    ``raw`` (n, :data:`N_OUTPUTS`) unbounded outputs; ``local`` (n, :data:`N_OUTPUTS`) raw corrections
    added after the averaging over symmetry classes; the other arguments as in :class:`ParameterBounds`,
    built here for one call (build it once where the same atoms are bounded again and again).
    """
    bounds = ParameterBounds(mol_id, priors, config, classes, mol_charge, dtype=raw.dtype, device=raw.device)
    return bounds(raw, local)


class ParameterBounds:
    """The bounded maps of the module docstring for one fixed set of atoms.

    ``mol_id`` (n,) molecule labels; ``priors``: every key of :data:`PARAMETER_KEYS` with the output's
    shape (a missing ``dipole``/``quadrupole`` prior means zero); ``classes`` (n,) symmetry-class
    labels within a molecule (None: no averaging); ``mol_charge`` (n_molecules,) e, total charge per
    molecule in the order of the sorted unique ``mol_id`` (default 0). Everything that depends only on
    these (the groups, the checked and averaged priors, the neutralized prior charges) is computed once
    here, so a training batch or an MD box pays only for the maps of its raw outputs at each call.
    """

    def __init__(self, mol_id: torch.Tensor, priors: dict[str, torch.Tensor], config: HeadConfig,
                 classes: torch.Tensor | None = None, mol_charge: torch.Tensor | None = None,
                 dtype=torch.float64, device=None):
        mol_id = torch.as_tensor(mol_id, device=device).long()
        device = mol_id.device
        self.config, self.dtype = config, dtype
        self.molecules = _Groups(mol_id)
        if classes is None:
            self.symmetrize = lambda x: x
        else:
            classes = torch.as_tensor(classes, device=device).long()
            self.symmetrize = _Groups(self.molecules.index * (int(classes.max()) + 1) + classes).mean
        prior = _checked_priors(priors, mol_id.numel(), dtype, device, self.symmetrize)
        total = (torch.zeros(self.molecules.size, dtype=dtype, device=device) if mol_charge is None
                 else torch.as_tensor(mol_charge, dtype=dtype, device=device))
        if total.shape != (self.molecules.size,):
            raise InputError(f"mol_charge must have shape ({self.molecules.size},), got {tuple(total.shape)}")
        excess = self.molecules.sum(prior["charge"]) - total
        if bool((excess.abs() > 1e-3).any()):
            worst = int(excess.abs().argmax())
            raise InputError(f"prior charges of molecule {worst} sum to {float(excess[worst] + total[worst]):.6f} e, not its total charge {float(total[worst]):.6f} e")
        self.charge = prior["charge"] - (excess / self.molecules.count.to(dtype))[self.molecules.index]
        self.positive = torch.stack([prior[key] for key in POSITIVE_KEYS], dim=1)  # (n, 7)
        self.ranges = torch.tensor([config.relative_range[key] for key in POSITIVE_KEYS], dtype=dtype, device=device)
        self.dipole_mask = (_Y_ODD_DIPOLE if config.zero_y_odd else torch.ones(3)).to(dtype=dtype, device=device)
        self.quad_mask = (_Y_ODD_QUAD if config.zero_y_odd else torch.ones(5)).to(dtype=dtype, device=device)
        self.dipole = prior["dipole"]
        self.quadrupole = torch.stack([prior["quadrupole"][:, a, b] for a, b in _QUAD_INDEX], dim=1)

    def __call__(self, raw: torch.Tensor, local: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Per-atom parameters from ``raw`` (n, :data:`N_OUTPUTS`) unbounded outputs, ``local`` (n,
        :data:`N_OUTPUTS`) raw corrections added after the averaging over symmetry classes (per-atom
        effects such as an atom's own intermolecular neighbours, :mod:`pinnff.model.environment`), still
        inside every bound."""
        if raw.dtype != self.dtype:
            raise InputError(f"raw outputs are {raw.dtype}, these bounds were built for {self.dtype}")
        raw = self.symmetrize(raw)
        if local is not None:
            raw = raw + local
        squashed = torch.tanh(raw)  # one pass over every output column
        out: dict[str, torch.Tensor] = {}
        positive = self.positive * (1.0 + self.ranges * squashed[:, _POSITIVE])  # p0 (1 + r tanh(.))
        for column, key in enumerate(POSITIVE_KEYS):
            out[key] = positive[:, column]
        config = self.config
        out["dipole"] = (self.dipole + config.dipole_range * squashed[:, _DIPOLE]) * self.dipole_mask
        out["quadrupole"] = _traceless_symmetric((self.quadrupole + config.quadrupole_range * squashed[:, _QUAD])
                                                 * self.quad_mask)
        bound = config.charge_range
        out["charge"] = self.charge + _zero_sum_within_bounds(bound * squashed[:, 0], bound, self.molecules)
        return {key: out[key] for key in PARAMETER_KEYS}


def _traceless_symmetric(free: torch.Tensor) -> torch.Tensor:
    """(n, 3, 3) from the components (xx, yy, xy, xz, yz) (n, 5); zz = -(xx + yy) so the trace is exactly 0."""
    xx, yy, xy, xz, yz = free.unbind(1)
    zz = -(xx + yy)
    rows = [torch.stack([xx, xy, xz], 1), torch.stack([xy, yy, yz], 1), torch.stack([xz, yz, zz], 1)]
    return torch.stack(rows, 1)


def _zero_sum_within_bounds(delta: torch.Tensor, bound: float, molecules: _Groups) -> torch.Tensor:
    """Shift ``delta`` (n,) in [-bound, bound] to sum to zero per molecule while staying in the bounds.

    With excess ``E`` and ``D = n_mol * bound``, each value moves against the
    excess by ``E * room / (D + |E|)``, where ``room`` is its distance to the
    bound it moves towards (``delta + bound`` for ``E > 0``, ``bound - delta``
    for ``E < 0``). The moves sum to exactly ``E`` (the rooms sum to
    ``D + |E|``) and each is at most its room, so no value crosses a bound.
    The denominator is never zero, so gradients stay finite.
    """
    if bound == 0.0:
        return torch.zeros_like(delta)
    excess = molecules.sum(delta).index_select(0, molecules.index)
    capacity = (bound * molecules.count.to(delta.dtype)).index_select(0, molecules.index)
    room = torch.where(excess > 0, delta + bound, bound - delta)
    return delta - excess * room / (capacity + excess.abs())


def _checked_priors(priors: dict, n: int, dtype, device, symmetrize) -> dict[str, torch.Tensor]:
    """Priors as tensors of the right shapes, positive where required, averaged over symmetry classes."""
    shapes = {key: (n,) for key in PARAMETER_KEYS}
    shapes["dipole"] = (n, 3)
    shapes["quadrupole"] = (n, 3, 3)
    result = {}
    for key in PARAMETER_KEYS:
        if key not in priors:
            if key in ("dipole", "quadrupole"):
                result[key] = torch.zeros(shapes[key], dtype=dtype, device=device)
                continue
            raise InputError(f"prior for '{key}' is missing; priors must give {list(PARAMETER_KEYS)}")
        value = torch.as_tensor(priors[key], dtype=dtype, device=device)
        if value.shape != shapes[key]:
            raise InputError(f"prior '{key}' has shape {tuple(value.shape)}, expected {shapes[key]}")
        if key in POSITIVE_KEYS and not bool((value > 0).all()):
            raise InputError(f"prior '{key}' must be positive everywhere (min {float(value.min())})")
        if key == "quadrupole":
            value = 0.5 * (value + value.transpose(1, 2))
            value = value - torch.diagonal(value, dim1=1, dim2=2).sum(-1)[:, None, None] / 3.0 * torch.eye(3, dtype=dtype, device=device)
        result[key] = symmetrize(value)
    unknown = set(priors) - set(PARAMETER_KEYS)
    if unknown:
        raise InputError(f"unknown prior keys {sorted(unknown)}")
    return result
