"""Physics-embedded potentials: the AMOEBA+ energy of :mod:`pinnff.physics` with learned parameters.

Two kinds share this class and differ only in where the per-atom parameters
come from:

- ``"physics"``: a :class:`~pinnff.model.heads.ParameterTable` holds one
  correction per atom type (topological symmetry class of the template), the
  classical fit with no network;
- ``"pinn"``: the same per-type table plus a
  :class:`~pinnff.model.network.ParameterNetwork` that maps each atom's
  intramolecular environment to a further correction. Both add up in the raw
  (unbounded) space before the bounded maps, so the PINN contains the
  physics model (network output zero) and ``network_weight`` pulls it there:
  the network only keeps what the data support beyond one parameter set per
  atom type, which is what makes it robust to label noise. The same weight
  prices how much the network output changes when the training monomers are
  thermally distorted (``distortion_A``): training dimers are rigid, and a
  network free to vary off them opens energy holes in the liquid, where
  molecules vibrate.

A PINN may also carry a :class:`~pinnff.model.contact.ContactCorrection`
(``contact`` settings): a bounded many-body energy of close intermolecular
contacts that vanishes beyond its cutoff (term ``"contact"``), and an
:class:`~pinnff.model.environment.EnvironmentCorrection` (``environment``
settings): parameters that also respond to the atom's intermolecular
neighbours.

Interaction energies of rigid clusters (kcal/mol): the pairwise-additive
terms (permanent multipoles with charge penetration, buffered 14-7 vdW,
charge transfer) need only the intermolecular pairs, since every monomer has
the same geometry and parameters in the cluster as alone (with the
environment correction it has not: then the intramolecular pairs of the
cluster minus those of each molecule alone enter too); polarization is
many-body, so it is E_pol(cluster) - sum E_pol(monomer), all solved in one
batch (:func:`pinnff.physics.pairs.segment_pairs`). Structures must be whole
molecules of ``smiles`` in template atom order (see
:func:`pinnff.chem.topology.template_order`).
"""

from __future__ import annotations

import numpy as np
import torch

from pinnff.errors import InputError
from pinnff.model.contact import ContactConfig, ContactCorrection
from pinnff.model.descriptors import DescriptorConfig
from pinnff.model.environment import EnvironmentConfig, EnvironmentCorrection
from pinnff.model.heads import HeadConfig, ParameterBounds, ParameterTable, symmetry_classes
from pinnff.model.network import ParameterNetwork
from pinnff.physics import PhysicsSettings, PolarizationSettings, degdme_topology, prior_parameters, total_energy
from pinnff.physics.electrostatics import lab_frame
from pinnff.physics.pairs import segment_pairs

KINDS = ("pinn", "physics")
RIGID_COPY_RMSD_A = 1e-5
"""A: molecules closer than this after superposition count as rigid copies (one monomer energy).
Copies of a pool conformer differ by the rounding of their coordinates (1e-8 A in the shipped files,
about 1e-6 A in float32); distinct conformers by tenths of an Angstrom."""
PAIRWISE_TERMS = ("multipole", "vdw", "charge_transfer")


def physics_options(options: dict | None = None) -> dict:
    """A model's physics options (the ``train.amoeba`` config keys, stored in its checkpoint) with the
    schema's defaults filled in; an unknown key or a bad value gives one :class:`InputError` line."""
    from pinnff.config import validate_section

    return validate_section(options, "train", "amoeba")


def physics_settings(options: dict, terms: tuple[str, ...]) -> PhysicsSettings:
    """Non-periodic :class:`PhysicsSettings` for ``terms`` from a model's physics options."""
    o = physics_options(options)
    return PhysicsSettings(penetration=o["penetration"], epsilon_rule=o["epsilon_rule"], ct_cutoff=o["ct_cutoff_A"],
                           polarization=PolarizationSettings(solver=o["polarization"], tol=o["polarization_tol_debye"]),
                           terms=terms)


def rigid_copies(molecules: torch.Tensor, rmsd_A: float | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Molecules (m, n, 3) A that are rigid copies of one another (RMSD below ``rmsd_A`` after the best
    proper rotation and translation; mirror images are not copies). Returns the first molecule of
    each group, ``distinct`` (u,) int64, and ``copy_of`` (m,): each molecule's group (0..u-1)."""
    from pinnff.geometry import kabsch_rmsd

    x = molecules.detach().double().cpu().numpy()
    if rmsd_A is None:
        return torch.arange(len(x)), torch.arange(len(x))
    i, j = np.triu_indices(x.shape[1], 1)
    shape = np.linalg.norm(x[:, i] - x[:, j], axis=-1)  # (m, n(n-1)/2) internal distances
    distinct, copy_of = [], []
    for k in range(len(x)):
        group = next((g for g, first in enumerate(distinct)
                      if np.abs(shape[first] - shape[k]).max() < 4.0 * rmsd_A * np.sqrt(x.shape[1])
                      and kabsch_rmsd(x[k], x[first]) < rmsd_A), None)
        if group is None:
            group = len(distinct)
            distinct.append(k)
        copy_of.append(group)
    return torch.tensor(distinct, dtype=torch.long), torch.tensor(copy_of, dtype=torch.long)


class PhysicsPotential(torch.nn.Module):
    """AMOEBA+ inter-molecular energy with per-atom parameters from a network or a per-type table."""

    def __init__(self, kind: str, smiles: str = "COCCOCCOC", descriptors: DescriptorConfig | None = None,
                 heads: HeadConfig | None = None, physics: dict | None = None, prior_weight: float = 0.0,
                 network_weight: float = 0.0, distortion_A: float = 0.1, contact: ContactConfig | None = None,
                 environment: EnvironmentConfig | None = None):
        super().__init__()
        for name, value in (("prior_weight", prior_weight), ("network_weight", network_weight),
                            ("distortion_A", distortion_A)):
            if value < 0:
                raise InputError(f"{name} must be >= 0, got {value}")
        self.prior_weight, self.network_weight = float(prior_weight), float(network_weight)
        self.distortion_A = float(distortion_A)
        if kind not in KINDS:
            raise InputError(f"physics model kind '{kind}' is not one of {list(KINDS)}")
        self.kind, self.smiles = kind, smiles
        self.physics = physics_options(physics)
        self._pairwise = physics_settings(self.physics, PAIRWISE_TERMS)
        self._polarization = physics_settings(self.physics, ("polarization",))
        topology = degdme_topology(1, smiles)
        from ase.data import atomic_numbers

        numbers = torch.tensor([atomic_numbers[s] for s in topology.symbols])
        classes = torch.as_tensor(symmetry_classes(smiles, [0] * len(numbers)))
        _, types = torch.unique(classes, return_inverse=True)
        self.n_atoms = len(numbers)
        self.register_buffer("template_numbers", numbers, persistent=False)
        self.register_buffer("template_types", types, persistent=False)
        n_types = int(types.max()) + 1
        if kind == "pinn":
            self.source = ParameterNetwork(descriptors, heads)
            self.type_table = ParameterTable(n_types, self.source.heads.config)
        else:
            self.source = ParameterTable(n_types, heads)
        if contact is not None and kind != "pinn":
            raise InputError("the contact correction belongs to the pinn kind only")
        self.contact = None if contact is None else ContactCorrection(contact)
        if environment is not None and kind != "pinn":
            raise InputError("the environment correction belongs to the pinn kind only")
        self.environment = None if environment is None else EnvironmentCorrection(environment)
        priors = prior_parameters(1, smiles)
        self.vdw_reduction = priors.pop("vdw_reduction")
        self.priors = priors

    # --- settings ---------------------------------------------------------------
    def config_dict(self) -> dict:
        """Plain settings that rebuild this model (checkpoints)."""
        out = {"kind": self.kind, "smiles": self.smiles, "physics": dict(self.physics), "prior_weight": self.prior_weight,
               "network_weight": self.network_weight, "distortion_A": self.distortion_A}
        if self.kind == "pinn":
            out.update(self.source.config_dict())
        else:
            out["heads"] = self.source.config.as_dict()
        if self.contact is not None:
            out["contact"] = self.contact.config.as_dict()
        if self.environment is not None:
            out["environment"] = self.environment.config.as_dict()
        return out

    @classmethod
    def from_config_dict(cls, values: dict) -> "PhysicsPotential":
        descriptors = DescriptorConfig.from_dict(values["descriptors"]) if "descriptors" in values else None
        return cls(values["kind"], values["smiles"], descriptors, HeadConfig.from_dict(values["heads"]),
                   values["physics"], values.get("prior_weight", 0.0), values.get("network_weight", 0.0),
                   values.get("distortion_A", 0.1),
                   ContactConfig.from_dict(values["contact"]) if values.get("contact") is not None else None,
                   EnvironmentConfig.from_dict(values["environment"]) if values.get("environment") is not None
                   else None)

    # --- parameters ---------------------------------------------------------------
    @property
    def table(self) -> ParameterTable:
        """The per-type raw corrections (the physics kind's only source, the PINN's baseline)."""
        return self.type_table if self.kind == "pinn" else self.source

    def tiled(self, n_molecules: int, device) -> dict:
        """Template quantities repeated for ``n_molecules`` molecules, and the bounded maps of their
        parameters (:class:`pinnff.model.heads.ParameterBounds`, ``bounds``)."""
        dtype = next(self.parameters()).dtype
        priors = {k: torch.cat([v.to(dtype=dtype, device=device)] * n_molecules) for k, v in self.priors.items()}
        types = self.template_types.repeat(n_molecules).to(device)
        mol_id = torch.arange(n_molecules, device=device).repeat_interleave(self.n_atoms)
        return {"priors": priors, "numbers": self.template_numbers.repeat(n_molecules).to(device), "types": types,
                "mol_id": mol_id, "reduction": self.vdw_reduction.to(dtype=dtype, device=device).repeat(n_molecules),
                "bounds": ParameterBounds(mol_id, priors, self.table.config, classes=types, dtype=dtype, device=device)}

    def molecule_count(self, numbers: torch.Tensor) -> int:
        """Number of molecules of a structure with atomic numbers ``numbers`` (n,) in template order."""
        n = len(numbers)
        if n % self.n_atoms or not torch.equal(torch.as_tensor(numbers).cpu(),
                                                self.template_numbers.cpu().repeat(n // self.n_atoms)):
            raise InputError(f"structure of {n} atoms is not whole molecules of {self.smiles} in template order")
        return n // self.n_atoms

    def atom_parameters(self, positions: torch.Tensor, n_molecules: int, features: torch.Tensor | None = None,
                        cell=None, tiled: dict | None = None, shells: torch.Tensor | None = None) -> dict:
        """Per-atom physics parameters (keys of :data:`pinnff.model.heads.PARAMETER_KEYS` plus
        ``vdw_reduction``) for ``n_molecules`` molecules at ``positions`` (n, 3) A.

        ``features``: precomputed descriptors (n, n_features) of the PINN (rigid geometries);
        ``tiled``: precomputed :meth:`tiled` quantities (training batches, MD boxes);
        ``shells``: intermolecular shells (n, n_shell_features) of the environment correction
        (:meth:`environment_shells`; None: the molecules alone).
        """
        t = tiled if tiled is not None else self.tiled(n_molecules, positions.device)
        params = self._bounded(self._raw(positions, t, features, cell), t, self._local(shells, t))
        params["vdw_reduction"] = t["reduction"]
        return params

    def environment_shells(self, positions: torch.Tensor, pairs, tiled: dict) -> torch.Tensor | None:
        """Intermolecular shells (n, n_shell_features) of the environment correction from a pair list that
        holds every intermolecular pair within its cutoff; None without the correction."""
        if self.environment is None:
            return None
        return self.environment.features(positions, tiled["numbers"], tiled["mol_id"], pairs)

    def _raw(self, positions, t: dict, features, cell, network: torch.Tensor | None = None) -> torch.Tensor:
        """Raw corrections (n, N_OUTPUTS) of the molecules alone: per-type row plus, for the PINN, the network
        (``network``: its outputs where already computed)."""
        raw = self.table.rows(t["types"])
        if self.kind == "pinn":
            if network is None:
                if features is None:
                    features = self.source.descriptors(positions, t["numbers"], mol_id=t["mol_id"], cell=cell)
                network = self.source.heads.raw(features, t["numbers"])
            raw = raw + network
        return raw

    def _local(self, shells, t: dict) -> torch.Tensor | None:
        return None if shells is None or self.environment is None else self.environment(shells, t["numbers"])

    def _bounded(self, raw: torch.Tensor, t: dict, local: torch.Tensor | None) -> dict:
        return t["bounds"](raw, local)

    # --- training on interaction energies ---------------------------------------
    def prepare(self, clusters: list, copy_rmsd_A: float | None = RIGID_COPY_RMSD_A) -> dict:
        """Batch of rigid clusters for :meth:`interaction_energies`.

        Every cluster is one segment; so is every distinct monomer: molecules that are rigid
        copies of one another (RMSD below ``copy_rmsd_A`` A after superposition by a proper
        rotation; None: none are) have the same parameters and energy alone, so they share one
        segment, solved once (liquid-like dimers reuse a few conformers).

        Keys: ``positions`` (N, 3) every cluster, then every distinct monomer;
        ``copy_rows`` (N,) row of the distinct-monomer atom each batch atom is a rigid copy of
        (parameters, which depend only on the molecule's own geometry, are computed once per distinct
        monomer and gathered);
        ``n_cluster_atoms``; ``n_molecules`` (in the clusters); ``topology``; ``all_pairs`` and
        ``inter_pairs`` (pair lists), ``segments``; per term of E_int (each cluster, then each
        molecule of each cluster): ``segment_of`` its segment, ``segment_sample`` its cluster and
        ``segment_sign`` (+1 cluster, -1 monomer); ``tiled`` (priors, types, molecule ids) of the
        cluster molecules and ``distinct_tiled`` of the distinct monomers; ``reduction`` (N,) vdW site
        reductions; ``features`` (PINN only: descriptors of the distinct monomers' atoms) and their
        ``numbers``; ``shells`` (environment correction only); ``n_samples``.
        """
        if not clusters:
            raise InputError("no clusters to prepare")
        counts = [self.molecule_count(c.numbers) for c in clusters]
        cluster_positions = torch.cat([c.positions for c in clusters]).to(next(self.parameters()).dtype)
        n_cluster_atoms, n_molecules = cluster_positions.shape[0], sum(counts)
        distinct, copy_of = rigid_copies(cluster_positions.reshape(n_molecules, self.n_atoms, 3), copy_rmsd_A)
        sizes = [n * self.n_atoms for n in counts] + [self.n_atoms] * len(distinct)
        all_pairs, segments = segment_pairs(sizes)
        inter_pairs = all_pairs.select((all_pairs.j < n_cluster_atoms)
                                       & (all_pairs.i // self.n_atoms != all_pairs.j // self.n_atoms))
        n = len(clusters)
        sample = torch.cat([torch.arange(n), torch.arange(n).repeat_interleave(torch.tensor(counts))])
        sign = torch.cat([torch.ones(n), -torch.ones(n_molecules)]).to(cluster_positions.dtype)
        def atom_rows(molecules: torch.Tensor) -> torch.Tensor:  # every atom row of these molecules
            return (molecules[:, None] * self.n_atoms + torch.arange(self.n_atoms)).reshape(-1)

        rows = atom_rows(distinct)
        data = {"positions": torch.cat([cluster_positions, cluster_positions.index_select(0, rows)]),
                "n_cluster_atoms": n_cluster_atoms,
                "copy_rows": torch.cat([atom_rows(copy_of), torch.arange(len(rows))]).to(cluster_positions.device),
                "n_molecules": n_molecules, "topology": degdme_topology(n_molecules + len(distinct), self.smiles),
                "all_pairs": all_pairs, "inter_pairs": inter_pairs, "segments": segments,
                "segment_of": torch.cat([torch.arange(n), n + copy_of]), "segment_sample": sample,
                "segment_sign": sign, "n_samples": n}
        t = data["tiled"] = self.tiled(n_molecules, cluster_positions.device)
        own = data["distinct_tiled"] = self.tiled(len(distinct), cluster_positions.device)
        data["reduction"] = own["reduction"].index_select(0, data["copy_rows"])  # fixed: vdW sites built once
        if self.kind == "pinn":
            with torch.no_grad():
                data["features"] = self.source.descriptors(data["positions"][n_cluster_atoms:], own["numbers"],
                                                           mol_id=own["mol_id"])
            data["numbers"] = own["numbers"]
        if self.environment is not None:
            with torch.no_grad():
                data["shells"] = self.environment_shells(cluster_positions, inter_pairs, t)
        if self.contact is not None:
            with torch.no_grad():
                shells = self.contact.shells
                element = shells.element(t["numbers"]).to(cluster_positions.device)
                data["contact"] = {"element": element,
                                   "features": shells.features(cluster_positions, shells.pairs(inter_pairs, t["mol_id"]),
                                                               element),
                                   "sample": torch.arange(len(clusters)).repeat_interleave(
                                       torch.tensor([len(c.numbers) for c in clusters])).to(cluster_positions.device)}
        return data

    def fit_normalization(self, data: dict) -> None:
        """Standardize the PINN's descriptors on the training batch's atoms (nothing to do for the table)."""
        if self.kind == "pinn":
            self.source.heads.fit_normalization(self.cluster_rows(data, data["features"]), data["tiled"]["numbers"])

    @staticmethod
    def cluster_rows(data: dict, distinct: torch.Tensor) -> torch.Tensor:
        """Rows (n_cluster_atoms, ...) for the cluster atoms of a prepared batch from rows (n_distinct_atoms,
        ...) of its distinct monomers (each cluster molecule is a rigid copy of one)."""
        return distinct.index_select(0, data["copy_rows"][:data["n_cluster_atoms"]])

    def training_terms(self, data: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """E_int (kcal/mol, ``(n_samples,)``) of a prepared batch and its :meth:`penalty`, the PINN's network
        evaluated once for both."""
        network = self._distinct_network(data) if self.kind == "pinn" else None
        return self.interaction_energies(data, network), self.penalty(data, network)

    def _network(self, data: dict, key: str, numbers: torch.Tensor) -> torch.Tensor:
        """The PINN network's raw outputs on the fixed descriptors ``data[key]`` of atoms ``numbers`` of a
        prepared batch, their standardized inputs built once (again only when the feature statistics
        change)."""
        heads = self.source.heads
        cache = data.setdefault("network_inputs", {})
        if key not in cache or cache[key].stamp != heads.normalization_stamp():
            cache[key] = heads.inputs(data[key], numbers)
        return heads.raw(cache[key])

    def _distinct_network(self, data: dict) -> torch.Tensor:
        """The PINN network's raw outputs (n_distinct_atoms, N_OUTPUTS) on the batch's distinct monomers."""
        return self._network(data, "features", data["numbers"])

    def penalty(self, data: dict, network: torch.Tensor | None = None) -> torch.Tensor:
        """Regularizer added to the training loss (kcal^2/mol^2): ``prior_weight`` times the mean
        square of the per-type raw corrections (zero is the priors) plus, for the PINN,
        ``network_weight`` times the mean square of the network's raw outputs on the training atoms
        (zero is the per-type model) plus the same weight times the mean square change of those
        outputs when every cluster atom is displaced at random by ``distortion_A`` (RMS per coordinate):
        parameters vary smoothly with geometry. The distorted descriptors are drawn once (seeded)
        and kept in ``data``. With the environment correction, its weight times the mean square of
        its raw output on the training atoms (zero is the molecules' own parameters). ``network``: the
        network's outputs on the batch's distinct monomers where already computed (:meth:`training_terms`)."""
        loss = self.prior_weight * self.table.raw.pow(2).mean()
        if self.kind == "pinn":
            raw = self.cluster_rows(data, self._distinct_network(data) if network is None else network)
            if "distorted_features" not in data:
                data["distorted_features"] = self._distorted_features(data)
            change = self._network(data, "distorted_features", data["tiled"]["numbers"]) - raw
            loss = loss + self.network_weight * (raw.pow(2).mean() + change.pow(2).mean())
        if self.environment is not None:
            local = self._local(data["shells"], data["tiled"])
            loss = loss + self.environment.config.weight * local.pow(2).mean()
        return loss

    @torch.no_grad()
    def _distorted_features(self, data: dict) -> torch.Tensor:
        """PINN descriptors (n, n_features) of the batch's cluster atoms displaced by seeded Gaussian noise."""
        positions = data["positions"][:data["n_cluster_atoms"]]
        noise = torch.randn(positions.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        distorted = positions + self.distortion_A * noise.to(dtype=positions.dtype, device=positions.device)
        return self.source.descriptors(distorted, data["tiled"]["numbers"], mol_id=data["tiled"]["mol_id"])

    def segment_energies(self, data: dict, network: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Per-term energies (kcal/mol) of every segment of a prepared batch, each ``(n_segments,)``;
        ``network``: the PINN network's outputs on the batch's distinct monomers where already computed."""
        positions, t, own, n = data["positions"], data["tiled"], data["distinct_tiled"], data["n_cluster_atoms"]
        if network is None and self.kind == "pinn":
            network = self._distinct_network(data)
        raw = self._raw(positions[n:], own, None, None, network)
        alone = self._bounded(raw, own, None)  # every distinct monomer's parameters without neighbours
        if self.environment is None:
            params = {k: v.index_select(0, data["copy_rows"]) for k, v in alone.items()}
            pairwise_pairs = data["inter_pairs"]  # the intramolecular pairs cancel exactly
        else:  # cluster atoms see their neighbours; each monomer alone does not
            in_cluster = self._bounded(self.cluster_rows(data, raw), t, self._local(data["shells"], t))
            params = {k: torch.cat([in_cluster[k], alone[k]]) for k in alone}
            pairwise_pairs = data["all_pairs"]
        params["vdw_reduction"] = data["reduction"]
        lab = lab_frame(positions, data["topology"], params)  # rotated once for both pair lists
        _, pairwise = total_energy(positions, data["topology"], params, settings=self._pairwise,
                                   pairs=pairwise_pairs, segments=data["segments"], lab=lab)
        _, polarization = total_energy(positions, data["topology"], params, settings=self._polarization,
                                       pairs=data["all_pairs"], segments=data["segments"], lab=lab)
        return {**pairwise, **polarization}

    def interaction_decomposition(self, data: dict, network: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """E_int of every prepared cluster split by term, each ``(n_samples,)`` kcal/mol (``network`` as in
        :meth:`segment_energies`)."""
        out = {}
        for term, energy in self.segment_energies(data, network).items():
            total = energy.new_zeros(data["n_samples"])
            terms = data["segment_sign"].to(energy.dtype) * energy.index_select(0, data["segment_of"])
            out[term] = total.index_add(0, data["segment_sample"], terms)
        if self.contact is not None:  # monomers alone have no contacts: only the cluster atoms count
            c = data["contact"]
            energy = self.contact.atom_energies(c["features"], c["element"])
            out["contact"] = energy.new_zeros(data["n_samples"]).index_add(0, c["sample"], energy)
        return out

    def refit_contact(self, train_data: dict, targets: torch.Tensor, val_data: dict, val_targets: torch.Tensor,
                      steps: int, lr: float, val_every: int = 50) -> float:
        """Second stage of training: Adam on the contact correction alone (``steps`` gradient evaluations,
        step ``lr``), every other term frozen at its trained value, so each step costs only the
        correction's MLPs. Targets and validation labels in kcal/mol, ``(n_samples,)``. Keeps the
        parameters of lowest validation RMSE (the incoming ones included); returns that RMSE, kcal/mol."""
        if self.contact is None:
            raise InputError("this model has no contact correction to refit")
        with torch.no_grad():
            rest = {}
            for name, data in (("train", train_data), ("val", val_data)):
                terms = self.interaction_decomposition(data)
                rest[name] = sum(v for k, v in terms.items() if k != "contact")

        def energies(name: str, data: dict) -> torch.Tensor:
            c = data["contact"]
            atoms = self.contact.atom_energies(c["features"], c["element"])
            return rest[name] + atoms.new_zeros(data["n_samples"]).index_add(0, c["sample"], atoms)

        def val_rmse() -> float:
            with torch.no_grad():
                return float(torch.sqrt(torch.mean((energies("val", val_data) - val_targets) ** 2)))

        best, best_state = val_rmse(), {k: v.clone() for k, v in self.contact.state_dict().items()}
        optimizer = torch.optim.Adam(self.contact.parameters(), lr=lr)
        for step in range(1, steps + 1):
            optimizer.zero_grad()
            torch.mean((energies("train", train_data) - targets) ** 2).backward()
            optimizer.step()
            if step % val_every == 0 or step == steps:
                value = val_rmse()
                if value < best:
                    best, best_state = value, {k: v.clone() for k, v in self.contact.state_dict().items()}
        self.contact.load_state_dict(best_state)
        return best

    def interaction_energies(self, data: dict, network: torch.Tensor | None = None) -> torch.Tensor:
        """E_int (kcal/mol) of every prepared cluster, shape ``(n_samples,)`` (``network`` as in
        :meth:`segment_energies`)."""
        return sum(self.interaction_decomposition(data, network).values())

