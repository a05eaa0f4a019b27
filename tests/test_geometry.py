"""Rigid-body geometry helpers."""

import numpy as np

from pinnff.geometry import kabsch_rmsd, kabsch_transform, min_contact, minimum_image, random_rotation


def test_random_rotation_is_proper_and_uniform(rng):
    rotations = np.array([random_rotation(rng) for _ in range(4000)])
    for r in rotations[:20]:
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(r) > 0
    # uniform on SO(3): the image of a fixed axis is uniform on the sphere, so <z'> = 0, <z'^2> = 1/3
    z = rotations[:, :, 2]
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=0.05)
    np.testing.assert_allclose((z**2).mean(axis=0), 1 / 3, atol=0.03)


def test_kabsch_recovers_a_rigid_motion(rng):
    a = rng.normal(size=(12, 3))
    r = random_rotation(rng)
    b = a @ r + np.array([1.0, -2.0, 3.0])
    rotation, shift = kabsch_transform(a, b)
    np.testing.assert_allclose(a @ rotation + shift, b, atol=1e-10)
    assert kabsch_rmsd(a, b) < 1e-10
    assert kabsch_rmsd(a, a + rng.normal(scale=0.1, size=a.shape)) > 0.01


def test_min_contact_and_minimum_image():
    a = np.array([[0.0, 0, 0], [1, 0, 0]])
    b = np.array([[4.0, 0, 0], [2.5, 0, 0]])
    assert min_contact(a, b) == 1.5
    np.testing.assert_allclose(minimum_image(np.array([9.0, -6.0, 2.0]), np.array([10.0, 10.0, 10.0])), [-1, 4, 2])
