"""Geometry of fixed positions is built once and reused; anything else is rebuilt (pairs.frozen)."""

import torch

from pinnff.physics.pairs import build_pairs, pair_geometry


def test_fixed_positions_reuse_their_geometry_and_changed_or_differentiable_ones_do_not():
    generator = torch.Generator().manual_seed(0)
    positions = 5.0 * torch.rand(12, 3, generator=generator, dtype=torch.float64)
    pairs = build_pairs(positions)
    first = pair_geometry(positions, pairs, cutoff=4.0)
    assert pair_geometry(positions, pairs, cutoff=4.0) is first
    assert pair_geometry(positions, pairs) is not first  # another cutoff, another geometry

    positions.mul_(0.5)  # moved in place: the stored geometry is stale
    moved = pair_geometry(positions, pairs, cutoff=4.0)
    assert moved is not first
    torch.testing.assert_close(moved.r, torch.linalg.norm(positions[moved.j] - positions[moved.i], dim=-1))
    assert len(moved.r) > len(first.r)  # closer together: more pairs inside the cutoff

    live = positions.clone().requires_grad_(True)
    a, b = pair_geometry(live, pairs, cutoff=4.0), pair_geometry(live, pairs, cutoff=4.0)
    assert a is not b and a.r.requires_grad
    torch.testing.assert_close(a.r.detach(), moved.r)
