"""The ``physics`` config section becomes the periodic settings and neighbour list."""

from pathlib import Path

import pytest
import yaml

from pinnff.errors import InputError
from pinnff.physics.settings import neighbor_list, periodic_settings

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_section_gives_pme_settings():
    section = yaml.safe_load((ROOT / "config/config.yaml").read_text())["physics"]
    s = periodic_settings(section)
    assert s.ewald.method == section["electrostatics"] == "pme"
    assert (s.ewald.cutoff, s.ewald.pme_spacing, s.cutoff) == (section["real_cutoff_A"], section["pme_spacing_A"],
                                                               section["vdw_cutoff_A"])
    assert s.polarization.solver == section["polarization"]
    assert s.vdw_correction is section["vdw_long_range_correction"]
    cache = neighbor_list(section)
    assert cache.cutoff == max(section["vdw_cutoff_A"], section["real_cutoff_A"], section["ct_cutoff_A"])
    assert cache.skin == section["neighbor_skin_A"]


@pytest.mark.parametrize("bad, message", [({"pme_order": 3}, "pme_order"), ({"electrostatics": "dsf"}, "electrostatics"),
                                          ({"cutoff": 9.0}, "cutoff"), ({"ct_cutoff_A": 12.0}, "ct_cutoff_A")])
def test_bad_section_names_the_key(bad, message):
    with pytest.raises(InputError, match=message):
        periodic_settings(bad)
