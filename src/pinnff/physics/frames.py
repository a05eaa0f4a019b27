"""Local multipole frames (AMOEBA conventions) and their rotation to the lab frame (torch).

For each atom the frame axes are unit vectors built from bonded neighbours:

- Z-then-X: z toward frame_z; x toward frame_x, orthogonalized to z.
- Bisector: z along the bisector of the unit vectors to frame_z and frame_x;
  x toward frame_x, orthogonalized.
- Z-bisect: z toward frame_z; x along the bisector of frame_x and frame_y.
- Three-fold: z along the sum of the unit vectors to frame_z, frame_x, frame_y;
  x toward frame_z, orthogonalized.
- Z-only: z toward frame_z; x is the lab x axis (lab y when z is within 30
  degrees of lab x), orthogonalized (OpenMM's convention).
- None: the lab frame.

y = z cross x. The frames differentiate with the positions, so forces from
autograd include the torques of rotating multipoles. Chirality flips of
frames with a y atom (Tinker's chkpole) are not applied.
"""

from __future__ import annotations

import torch

from pinnff.physics.topology import BISECTOR, NO_AXIS, THREE_FOLD, Z_BISECT, Z_ONLY, Z_THEN_X, Topology


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / torch.linalg.norm(v, dim=-1, keepdim=True)


def _orthonormal(z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(k, 3, 3) matrices whose columns are the x, y, z axes."""
    x = _unit(x - (x * z).sum(-1, keepdim=True) * z)
    y = torch.cross(z, x, dim=-1)
    return torch.stack([x, y, z], dim=-1)


def _frame_atoms(topology: Topology, device) -> dict:
    """Per frame kind with atoms: (atoms (m,), their z, x and y frame atoms (m,)), int64 on ``device``;
    built once per topology and device (every MD evaluation rebuilds the frames)."""
    key = ("frame_atoms", str(device))
    if key not in topology.memo:
        axis = topology.tensor("axis_type", device)
        frame = [topology.tensor(k, device) for k in ("frame_z", "frame_x", "frame_y")]
        atoms = {}
        for kind in (Z_THEN_X, BISECTOR, Z_BISECT, THREE_FOLD, Z_ONLY):
            idx = torch.nonzero(axis == kind).flatten()
            if len(idx):
                atoms[kind] = (idx, *(f.index_select(0, idx) for f in frame))
        topology.memo[key] = atoms
    return topology.memo[key]


def frame_matrices(positions: torch.Tensor, topology: Topology) -> torch.Tensor:
    """Rotation matrices (n, 3, 3), columns = local x, y, z axes in lab coordinates."""
    n = positions.shape[0]
    device, dtype = positions.device, positions.dtype
    out = torch.eye(3, dtype=dtype, device=device).expand(n, 3, 3).clone()
    for kind, (idx, fz, fx, fy) in _frame_atoms(topology, device).items():
        ri = positions.index_select(0, idx)
        uz = _unit(positions.index_select(0, fz) - ri)
        if kind == Z_ONLY:
            lab_x = torch.zeros_like(uz)
            use_y = uz[:, 0].abs() > 0.866
            lab_x[:, 0] = (~use_y).to(dtype)
            lab_x[:, 1] = use_y.to(dtype)
            mats = _orthonormal(uz, lab_x)
        else:
            ux = _unit(positions.index_select(0, fx) - ri)
            if kind == Z_THEN_X:
                mats = _orthonormal(uz, ux)
            elif kind == BISECTOR:
                mats = _orthonormal(_unit(uz + ux), ux)
            elif kind == Z_BISECT:
                uy = _unit(positions.index_select(0, fy) - ri)
                mats = _orthonormal(uz, _unit(ux + uy))
            else:  # three-fold
                uy = _unit(positions.index_select(0, fy) - ri)
                mats = _orthonormal(_unit(uz + ux + uy), uz)
        out = out.index_copy(0, idx, mats)
    return out


def lab_multipoles(positions: torch.Tensor, topology: Topology, dipole: torch.Tensor,
                   quadrupole: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotate local dipoles (n, 3) e*A and quadrupoles (n, 3, 3) e*A^2 to the lab frame (the frames
    of fixed positions are built once, :func:`pinnff.physics.pairs.frozen`)."""
    from pinnff.physics.pairs import frozen

    rot = frozen(topology.memo, "frames", (positions,), lambda: frame_matrices(positions, topology))
    d_lab = (rot * dipole[:, None, :]).sum(-1)
    return d_lab, _rotate(rot, quadrupole)


def _rotate(rot: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """``R Theta R^T`` (n, 3, 3) as sums of column products with the atoms last (cheaper, forward and
    backward, than batched 3 x 3 matrix products)."""
    r0, r1, r2 = rot.permute(1, 2, 0).unbind(1)  # columns R[:, c], each (3, n)
    t0, t1, t2 = theta.permute(1, 2, 0).unbind(0)  # rows Theta[c, :], each (3, n)
    rt0, rt1, rt2 = (r0[:, None] * t0[None] + r1[:, None] * t1[None] + r2[:, None] * t2[None]).unbind(1)
    return (rt0[:, None] * r0[None] + rt1[:, None] * r1[None] + rt2[:, None] * r2[None]).permute(2, 0, 1)
