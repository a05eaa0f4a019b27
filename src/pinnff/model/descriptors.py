"""Invariant per-atom environment descriptors: element-resolved symmetry functions (torch).

Behler-Parrinello / ANI-style atom-centred symmetry functions. For a centre
atom ``i`` with neighbours ``j, k`` inside the cutoff (distances in Angstrom):

- radial, one block per neighbour element ``e`` and shell ``s``::

      G_R[i, e, s] = sum_{j in e} exp(-eta_R (r_ij - R_s)^2) f_c(r_ij; rc_R)

- angular, one block per unordered neighbour-element pair ``(e, e')``, shell
  ``s``, exponent ``zeta`` and sign ``lambda = +-1``::

      G_A[i, ee', s, zeta, lambda] = 2^(1 - zeta) sum_{j < k, {Z_j, Z_k} = {e, e'}}
          (1 + lambda cos theta_jik)^zeta
          exp(-eta_A ((r_ij + r_ik)/2 - R_s)^2) f_c(r_ij; rc_A) f_c(r_ik; rc_A)

with the smooth cosine cutoff ``f_c(r; rc) = (cos(pi r / rc) + 1) / 2`` for
``r < rc`` and 0 beyond (value and first derivative vanish at ``rc``). Using
``1 + lambda cos theta`` (Behler) rather than ANI's ``cos(theta - theta_s)``
avoids the ``acos`` whose derivative diverges at 0 and 180 degrees, so the
descriptors are differentiable for every geometry without coincident atoms.

The sums run over every neighbour, so the descriptors are invariant to
rotation, translation and to permutations of like atoms, and differentiate
with the positions through autograd. Pairs and triplets are built without
gradient (index bookkeeping only); the distances and angles built from them
carry it.

Neighbours can be restricted to the atom's own molecule (``mol_id``), which
is how the PINN uses them: AMOEBA+ parameters describe an atom in its
molecule. ``cluster`` (n,) keeps separate structures of a batch apart when
the restriction is off. An optional periodic ``cell`` applies the minimum
image (cutoff at most half the smallest perpendicular cell width; exact for
orthorhombic and mildly skewed cells). With ``mol_id`` and a cell, every
molecule must span less than half a cell width, so that the minimum image of
an intramolecular pair is the bonded partner rather than a periodic copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from pinnff.errors import InputError
from pinnff.model.settings import PlainSettings
from pinnff.physics.kernels import fused


def cosine_cutoff(r: torch.Tensor, cutoff: float) -> torch.Tensor:
    """``(cos(pi r / rc) + 1) / 2`` below ``cutoff`` (A), exactly 0 at and beyond it; shape of ``r``."""
    inside = r < cutoff
    value = 0.5 * (torch.cos(torch.pi * r / cutoff) + 1.0)
    return torch.where(inside, value, torch.zeros_like(r))


@fused
def radial_terms(r: torch.Tensor, centres: torch.Tensor, eta: float, cutoff: float) -> torch.Tensor:
    """Radial symmetry-function terms (k, shells) ``exp(-eta (r - R_s)^2) f_c(r)`` of pairs at ``r`` (k,) A
    for shell centres ``centres`` (shells,) A. A fused kernel."""
    return torch.exp(-eta * (r[:, None] - centres) ** 2) * cosine_cutoff(r, cutoff)[:, None]


def _power(base: torch.Tensor, exponent: float) -> torch.Tensor:
    """``base ** exponent``, by repeated products when the exponent is a whole number from 1 to 8."""
    if not (float(exponent).is_integer() and 1 <= exponent <= 8):
        return base ** exponent
    out = base
    for _ in range(int(exponent) - 1):
        out = out * base
    return out


@fused
def angular_terms(r_ij, r_ik, v_ij, v_ik, centres, zetas: tuple, lambdas: tuple, eta: float, cutoff: float) -> torch.Tensor:
    """Angular symmetry-function terms (t, shells * zetas * lambdas) of triplets j-i-k with legs ``v_ij``,
    ``v_ik`` (t, 3) A of lengths ``r_ij``, ``r_ik`` (t,): the radial part of every shell centre (A) times
    ``2^(1 - zeta) (1 + lambda cos theta)^zeta``, flattened shell-major. ``zetas``, ``lambdas``: Python
    floats (whole zetas are raised by products, not ``pow``). A fused kernel."""
    cos = (v_ij * v_ik).sum(-1) / (r_ij * r_ik)
    fc = cosine_cutoff(r_ij, cutoff) * cosine_cutoff(r_ik, cutoff)
    radial_part = torch.exp(-eta * (0.5 * (r_ij + r_ik)[:, None] - centres) ** 2) * fc[:, None]
    # (1 + lambda cos) is >= 0 for |cos| <= 1; clamp guards round-off before the power
    bases = [(1.0 + lam * cos).clamp_min(0.0) for lam in lambdas]
    angle_part = torch.stack([torch.stack([2.0 ** (1.0 - z) * _power(b, z) for b in bases], -1)
                              for z in zetas], -2)  # (t, zetas, lambdas)
    return (radial_part[:, :, None, None] * angle_part[:, None, :, :]).reshape(len(r_ij), -1)


@dataclass(frozen=True)
class DescriptorConfig(PlainSettings):
    """Settings of the symmetry functions (lengths in A, eta in 1/A^2).

    ``species``: atomic numbers, in the order of the element blocks.
    Radial shells are ``radial_shells`` centres evenly spaced on
    ``[radial_start, radial_cutoff)``; angular shells likewise on
    ``[angular_start, angular_cutoff)``.
    """

    species: tuple[int, ...] = (1, 6, 8)
    radial_cutoff: float = 5.0
    radial_start: float = 0.8
    radial_shells: int = 16
    radial_eta: float = 4.0
    angular_cutoff: float = 3.5
    angular_start: float = 0.8
    angular_shells: int = 4
    angular_eta: float = 2.0
    zetas: tuple[float, ...] = (1.0, 4.0)
    lambdas: tuple[float, ...] = field(default=(1.0, -1.0))

    SETTINGS_NAME = "descriptor settings"


def _shell_centres(start: float, stop: float, count: int) -> torch.Tensor:
    return torch.as_tensor(np.linspace(start, stop, count, endpoint=False), dtype=torch.float64)


class SymmetryFunctions(torch.nn.Module):
    """Per-atom descriptors ``(n, n_features)`` from positions ``(n, 3)`` A and atomic numbers ``(n,)``.

    Feature layout: radial block ``[element, shell]`` (``n_species *
    radial_shells`` columns), then the angular block ``[element pair,
    shell, zeta, lambda]`` (``n_pairs * angular_shells * len(zetas) *
    len(lambdas)`` columns), element pairs ordered (0,0), (0,1), ..., (1,1), ...
    following ``species``.
    """

    def __init__(self, config: DescriptorConfig | None = None):
        super().__init__()
        self.config = config = config or DescriptorConfig()
        if config.angular_cutoff > config.radial_cutoff:
            raise ValueError("angular_cutoff must not exceed radial_cutoff")
        if len(set(config.species)) != len(config.species):
            raise ValueError(f"repeated species in {config.species}")
        self.n_species = len(config.species)
        lookup = torch.full((max(config.species) + 1,), -1, dtype=torch.long)
        lookup[torch.as_tensor(config.species)] = torch.arange(self.n_species)
        self.register_buffer("species_index", lookup, persistent=False)
        pair = torch.full((self.n_species, self.n_species), -1, dtype=torch.long)
        count = 0
        for a in range(self.n_species):
            for b in range(a, self.n_species):
                pair[a, b] = pair[b, a] = count
                count += 1
        self.n_pairs = count
        self.register_buffer("pair_index", pair, persistent=False)
        self.register_buffer("radial_centres", _shell_centres(config.radial_start, config.radial_cutoff, config.radial_shells), persistent=False)
        self.register_buffer("angular_centres", _shell_centres(config.angular_start, config.angular_cutoff, config.angular_shells), persistent=False)
        self.n_radial = self.n_species * config.radial_shells
        self.n_angular_per_pair = config.angular_shells * len(config.zetas) * len(config.lambdas)
        self.n_features = self.n_radial + self.n_pairs * self.n_angular_per_pair

    def element_index(self, numbers: torch.Tensor) -> torch.Tensor:
        """Block index (n,) of each atomic number; :class:`InputError` for an element not in ``species``."""
        numbers = torch.as_tensor(numbers, dtype=torch.long, device=self.species_index.device)
        bad = (numbers < 0) | (numbers >= self.species_index.numel())
        index = torch.where(bad, torch.full_like(numbers, -1), self.species_index[numbers.clamp(0, self.species_index.numel() - 1)])
        if bool((index < 0).any()):
            missing = sorted(set(numbers[index < 0].tolist()))
            raise InputError(f"atomic numbers {missing} are not among the descriptor species {list(self.config.species)}")
        return index

    def forward(
        self,
        positions: torch.Tensor,
        numbers: torch.Tensor,
        mol_id: torch.Tensor | None = None,
        cluster: torch.Tensor | None = None,
        cell: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Descriptors ``(n, n_features)`` (dimensionless), differentiable w.r.t. ``positions`` (n, 3) A.

        ``mol_id`` (n,): when given, neighbours are atoms of the same
        molecule only. ``cluster`` (n,): atoms of different clusters never
        see each other (a batch of separate structures). ``cell`` (3, 3) A,
        rows are lattice vectors: minimum-image displacements.
        """
        cfg = self.config
        n = positions.shape[0]
        dtype, device = positions.dtype, positions.device
        element = self.element_index(numbers).to(device)
        groups = _group_labels(n, mol_id, cluster, device)
        i, j = _candidate_pairs(groups)
        rvec = positions.index_select(0, j) - positions.index_select(0, i)  # index_select: its backward is an
        if cell is not None:                                                 # index_add, not an index_put
            rvec = _minimum_image(rvec, torch.as_tensor(cell, dtype=dtype, device=device), cfg.radial_cutoff)
        with torch.no_grad():
            keep = torch.nonzero(torch.linalg.norm(rvec, dim=-1) < cfg.radial_cutoff).flatten()
        i, j, rvec = i.index_select(0, keep), j.index_select(0, keep), rvec.index_select(0, keep)
        r = torch.linalg.norm(rvec, dim=-1)

        # radial: both directions of each pair, (pairs, shells)
        centre = torch.cat([i, j])
        other = torch.cat([j, i])
        r2 = torch.cat([r, r])
        terms = radial_terms(r2, self.radial_centres.to(dtype), cfg.radial_eta, cfg.radial_cutoff)
        radial = _sum_into(terms, centre, element[other], n, self.n_species)

        # angular: directed neighbour list within the angular cutoff
        vec2 = torch.cat([rvec, -rvec])
        with torch.no_grad():
            close = torch.nonzero(r2 < cfg.angular_cutoff).flatten()
        a_centre, a_other = centre.index_select(0, close), other.index_select(0, close)
        a_vec, a_r = vec2.index_select(0, close), r2.index_select(0, close)
        centre_t, first, second = _triplets(a_centre)
        angular = positions.new_zeros(n, self.n_pairs, self.n_angular_per_pair)
        if centre_t.numel():
            terms = angular_terms(a_r.index_select(0, first), a_r.index_select(0, second), a_vec.index_select(0, first),
                                  a_vec.index_select(0, second), self.angular_centres.to(dtype),
                                  tuple(cfg.zetas), tuple(cfg.lambdas), cfg.angular_eta, cfg.angular_cutoff)
            pair = self.pair_index[element[a_other[first]], element[a_other[second]]]
            angular = _sum_into(terms, centre_t, pair, n, self.n_pairs)
        return torch.cat([radial.reshape(n, -1), angular.reshape(n, -1)], dim=1)


class IntermolecularShells(torch.nn.Module):
    """Radial shells of an atom's intermolecular neighbours: the environment a molecule alone lacks.

    For atom ``i`` (lengths in A, ``eta`` in 1/A^2)::

        G_i[e, s] = sum_{j in other molecules, element e} exp(-eta (r_ij - R_s)^2) f_c(r_ij; cutoff)

    with ``shells`` centres ``R_s`` evenly spaced on ``[start, cutoff)`` and the
    cosine cutoff :func:`cosine_cutoff`. ``G_i = 0`` exactly when no atom of
    another molecule (or periodic image) lies within ``cutoff``; value and
    slope are continuous there. Pairs come from a :class:`pinnff.physics.pairs.PairList`
    (an explicit cluster list or a periodic neighbour list), so training
    clusters and MD boxes share one code path.
    """

    def __init__(self, cutoff: float, start: float, shells: int, eta: float, species: tuple[int, ...] = (1, 6, 8)):
        super().__init__()
        if not 0 < start < cutoff:
            raise InputError(f"intermolecular shells: need 0 < start < cutoff, got {start} and {cutoff} A")
        if shells < 1 or eta <= 0:
            raise InputError("intermolecular shells: shells >= 1 and eta > 0 are required")
        self.cutoff, self.eta, self.species = float(cutoff), float(eta), tuple(species)
        lookup = torch.full((max(species) + 1,), -1, dtype=torch.long)
        lookup[torch.as_tensor(species)] = torch.arange(len(species))
        self.register_buffer("species_index", lookup, persistent=False)
        self.register_buffer("centres", _shell_centres(start, cutoff, shells), persistent=False)
        self.n_features = len(species) * shells

    def element(self, numbers: torch.Tensor) -> torch.Tensor:
        """Species index (n,) of each atomic number; :class:`InputError` for one not in ``species``."""
        numbers = torch.as_tensor(numbers, dtype=torch.long, device=self.species_index.device)
        if bool(((numbers < 0) | (numbers >= len(self.species_index))).any()) or bool((self.species_index[numbers] < 0).any()):
            raise InputError(f"intermolecular shells: atomic numbers outside {list(self.species)}")
        return self.species_index[numbers]

    def pairs(self, pairs, mol_id: torch.Tensor):
        """The pairs of ``pairs`` between different molecules (or periodic images) that may lie within the
        cutoff (:meth:`features` drops the others at each call). The choice depends only on the
        list, so it is made once per list (memoized on it, like the physics terms' scale factors): the
        molecule labels ``mol_id`` (n,) of a list's atoms must not change while the list lives."""

        def build():
            other = mol_id.index_select(0, pairs.i) != mol_id.index_select(0, pairs.j)
            if pairs.shift is not None:
                other = other | (pairs.shift.abs().sum(-1) > 0)
            if pairs.reference is not None:
                other = other & (pairs.reference <= self.cutoff + pairs.skin)
            return torch.nonzero(other).flatten()

        return pairs.take(pairs.cached(("intermolecular", self.cutoff), build))

    def features(self, positions: torch.Tensor, contacts, element: torch.Tensor) -> torch.Tensor:
        """``G`` (n, n_species * shells) from intermolecular pairs ``contacts`` (see :meth:`pairs`)
        and species indices ``element`` (n,); differentiable w.r.t. ``positions`` (n, 3) A."""
        n = positions.shape[0]
        _, r = contacts.vectors(positions)
        with torch.no_grad():  # pairs in the skin beyond the cutoff add exactly zero: drop them first
            inside = torch.nonzero(r < self.cutoff).flatten()
        r, i, j = r.index_select(0, inside), contacts.i.index_select(0, inside), contacts.j.index_select(0, inside)
        terms = radial_terms(r, self.centres.to(r.dtype), self.eta, self.cutoff)
        rows = torch.cat([i, j])
        blocks = torch.cat([element.index_select(0, j), element.index_select(0, i)])
        return _sum_into(torch.cat([terms, terms]), rows, blocks, n, len(self.species)).reshape(n, -1)


def _sum_into(terms: torch.Tensor, rows: torch.Tensor, blocks: torch.Tensor, n: int, n_blocks: int) -> torch.Tensor:
    """(n, n_blocks, m): the sum of ``terms`` (k, m) over their ``rows`` (k,) and ``blocks`` (k,) indices, as
    one ``index_add`` over the flattened (row, block) index (an accumulating ``index_put`` over the
    two indices sorts them, several times slower on a CPU)."""
    out = terms.new_zeros(n * n_blocks, terms.shape[1]).index_add(0, rows * n_blocks + blocks, terms)
    return out.reshape(n, n_blocks, terms.shape[1])


def _group_labels(n: int, mol_id, cluster, device) -> torch.Tensor:
    """One integer label per atom; atoms see each other only within a label."""
    labels = torch.zeros(n, dtype=torch.long, device=device)
    for array in (cluster, mol_id):
        if array is None:
            continue
        array = torch.as_tensor(np.asarray(array) if not isinstance(array, torch.Tensor) else array, device=device).long()
        if array.shape != (n,):
            raise InputError(f"per-atom labels must have shape ({n},), got {tuple(array.shape)}")
        _, array = torch.unique(array, return_inverse=True)
        labels = labels * (int(array.max()) + 1 if n else 1) + array
    return labels


def _candidate_pairs(groups: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """All pairs ``i < j`` of atoms with the same group label, (k,) each."""
    device = groups.device
    order = torch.argsort(groups, stable=True)
    _, counts = torch.unique_consecutive(groups[order], return_counts=True)
    starts = torch.cumsum(counts, 0) - counts
    firsts, seconds = [], []
    for size in torch.unique(counts).tolist():
        if size < 2:
            continue
        a, b = torch.triu_indices(size, size, 1, device=device)
        base = starts[counts == size]
        firsts.append((base[:, None] + a[None, :]).reshape(-1))
        seconds.append((base[:, None] + b[None, :]).reshape(-1))
    if not firsts:
        empty = torch.zeros(0, dtype=torch.long, device=device)
        return empty, empty
    first, second = order[torch.cat(firsts)], order[torch.cat(seconds)]
    return torch.minimum(first, second), torch.maximum(first, second)


def _triplets(centre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For directed pairs with centres ``centre`` (m,): every unordered pair of pairs sharing a centre.

    Returns ``(centre_atom, first_pair, second_pair)``, each (t,).
    """
    device = centre.device
    order = torch.argsort(centre, stable=True)
    values, counts = torch.unique_consecutive(centre[order], return_counts=True)
    starts = torch.cumsum(counts, 0) - counts
    centres, firsts, seconds = [], [], []
    for size in torch.unique(counts).tolist():
        if size < 2:
            continue
        a, b = torch.triu_indices(size, size, 1, device=device)
        chosen = counts == size
        base = starts[chosen]
        firsts.append(order[(base[:, None] + a[None, :]).reshape(-1)])
        seconds.append(order[(base[:, None] + b[None, :]).reshape(-1)])
        centres.append(values[chosen].repeat_interleave(a.numel()))
    if not firsts:
        empty = torch.zeros(0, dtype=torch.long, device=device)
        return empty, empty, empty
    return torch.cat(centres), torch.cat(firsts), torch.cat(seconds)


def _minimum_image(rvec: torch.Tensor, cell: torch.Tensor, cutoff: float) -> torch.Tensor:
    """Minimum-image displacements (k, 3) A for a cell (3, 3) (rows lattice vectors) or box (3,)."""
    if cell.shape == (3,):
        cell = torch.diag(cell)
    if cell.shape != (3, 3):
        raise InputError(f"cell must be (3,) or (3, 3), got {tuple(cell.shape)}")
    volume = torch.linalg.det(cell).abs()
    widths = volume / torch.linalg.norm(torch.cross(cell[[1, 2, 0]], cell[[2, 0, 1]], dim=-1), dim=-1)
    if float(widths.min()) < 2.0 * cutoff:
        raise InputError(f"descriptor cutoff {cutoff} A exceeds half the smallest cell width {float(widths.min()):.3f} A")
    fractional = rvec @ torch.linalg.inv(cell)
    fractional = fractional - torch.round(fractional.detach())
    return fractional @ cell
