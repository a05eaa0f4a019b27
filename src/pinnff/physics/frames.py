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


def frame_matrices(positions: torch.Tensor, topology: Topology) -> torch.Tensor:
    """Rotation matrices (n, 3, 3), columns = local x, y, z axes in lab coordinates."""
    n = positions.shape[0]
    device, dtype = positions.device, positions.dtype
    axis = topology.tensor("axis_type", device)
    fz, fx, fy = (topology.tensor(k, device) for k in ("frame_z", "frame_x", "frame_y"))
    out = torch.eye(3, dtype=dtype, device=device).expand(n, 3, 3).clone()
    for kind in (Z_THEN_X, BISECTOR, Z_BISECT, THREE_FOLD, Z_ONLY):
        idx = torch.nonzero(axis == kind).flatten()
        if len(idx) == 0:
            continue
        ri = positions.index_select(0, idx)
        uz = _unit(positions.index_select(0, fz.index_select(0, idx)) - ri)
        if kind == Z_ONLY:
            lab_x = torch.zeros_like(uz)
            use_y = uz[:, 0].abs() > 0.866
            lab_x[:, 0] = (~use_y).to(dtype)
            lab_x[:, 1] = use_y.to(dtype)
            mats = _orthonormal(uz, lab_x)
        else:
            ux = _unit(positions.index_select(0, fx.index_select(0, idx)) - ri)
            if kind == Z_THEN_X:
                mats = _orthonormal(uz, ux)
            elif kind == BISECTOR:
                mats = _orthonormal(_unit(uz + ux), ux)
            elif kind == Z_BISECT:
                uy = _unit(positions.index_select(0, fy.index_select(0, idx)) - ri)
                mats = _orthonormal(uz, _unit(ux + uy))
            else:  # three-fold
                uy = _unit(positions.index_select(0, fy.index_select(0, idx)) - ri)
                mats = _orthonormal(_unit(uz + ux + uy), uz)
        out = out.index_copy(0, idx, mats)
    return out


def lab_multipoles(positions: torch.Tensor, topology: Topology, dipole: torch.Tensor,
                   quadrupole: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotate local dipoles (n, 3) e*A and quadrupoles (n, 3, 3) e*A^2 to the lab frame (the frames
    of fixed positions are built once, :func:`pinnff.physics.pairs.frozen`)."""
    from pinnff.physics.pairs import frozen

    rot = frozen(topology.memo, "frames", (positions,), lambda: frame_matrices(positions, topology))
    d_lab = torch.einsum("nab,nb->na", rot, dipole)
    q_lab = rot @ quadrupole @ rot.transpose(1, 2)
    return d_lab, q_lab
