"""The cited experimental data file and its loader."""

import pytest
import yaml

from pinnff.analysis.experimental import CITATION_FIELDS, default_path, load_experimental, not_sourced
from pinnff.errors import InputError

FIXTURE_CITATION = {  # a made-up citation for testing the loader only: not data
    "authors": "A. Tester", "title": "Loader fixture", "journal": "J. Test Fixtures", "volume": "1",
    "pages": "1-2", "year": 2000, "doi": "10.0000/fixture",
}


def write(tmp_path, properties, **extra):
    path = tmp_path / "data.yaml"
    path.write_text(yaml.safe_dump({"properties": properties, **extra}, allow_unicode=True))
    return path


def test_shipped_degdme_file_holds_only_cited_values():
    path = default_path("degdme")
    data = yaml.safe_load(path.read_text())
    assert data["cas"] == "111-96-6"
    measurements = load_experimental(path)  # raises on any value without a full citation
    missing = not_sourced(path)
    # every wanted property is either cited or declared not sourced, with a reason
    assert set(measurements) | set(missing) == {"density", "viscosity", "self_diffusion"}
    assert not set(measurements) & set(missing)
    for m in measurements.values():
        assert all(str(m.citation[f]).strip() for f in CITATION_FIELDS)
        assert 288.0 <= m.temperature_K <= 308.0
    if "density" in measurements:
        assert 0.90 < measurements["density"].value < 0.98  # g/cm^3
    if "viscosity" in measurements:
        assert 0.7 < measurements["viscosity"].value < 1.5  # mPa s
    if "self_diffusion" in measurements:
        assert 0.3 < measurements["self_diffusion"].value < 3.0  # 1e-9 m^2/s
    for reason in missing.values():
        assert len(reason) > 20


def test_loader_converts_units(tmp_path):
    path = write(tmp_path, {
        "viscosity": {"value": 0.001, "unit": "Pa s", "temperature_K": 298.15, "citation": FIXTURE_CITATION},
        "self_diffusion": {"value": 8.0e-10, "unit": "m^2/s", "uncertainty": 2e-11, "temperature_K": 298.15,
                           "citation": FIXTURE_CITATION},
        "density": {"value": 940.0, "unit": "kg/m^3", "temperature_K": 298.15, "citation": FIXTURE_CITATION},
    })
    data = load_experimental(path)
    assert data["viscosity"].value == pytest.approx(1.0) and data["viscosity"].unit == "mPa s"
    assert data["self_diffusion"].value == pytest.approx(0.8) and data["self_diffusion"].uncertainty == pytest.approx(0.02)
    assert data["density"].value == pytest.approx(0.94)
    assert "J. Test Fixtures 1, 1-2 (2000), doi:10.0000/fixture" in data["density"].cite()


@pytest.mark.parametrize("broken, message", [
    (None, "has no citation"),
    ({**FIXTURE_CITATION, "doi": ""}, "lacks doi"),
    ({**FIXTURE_CITATION, "volume": None, "pages": " "}, "lacks volume, pages"),
    ({**FIXTURE_CITATION, "doi": "https://example.org/x"}, "is not a DOI"),
])
def test_loader_refuses_values_without_a_full_citation(tmp_path, broken, message):
    entry = {"value": 1.0, "unit": "mPa s", "temperature_K": 298.15}
    if broken is not None:
        entry["citation"] = broken
    path = write(tmp_path, {"viscosity": entry})
    with pytest.raises(InputError, match=f"data.yaml: properties.viscosity: .*{message}"):
        load_experimental(path)


def test_loader_refuses_unknown_units_and_unsourced_values(tmp_path):
    path = write(tmp_path, {"viscosity": {"value": 1.0, "unit": "poise", "temperature_K": 298.15,
                                          "citation": FIXTURE_CITATION}})
    with pytest.raises(InputError, match="unit 'poise'"):
        load_experimental(path)
    path = write(tmp_path, {}, not_sourced=[{"property": "density", "reason": "none found", "value": 0.94}])
    with pytest.raises(InputError, match="carries a value"):
        load_experimental(path)
    with pytest.raises(InputError, match="no such file"):
        load_experimental(tmp_path / "absent.yaml")


def test_manifest_hash_matches_the_data_file():
    import hashlib

    path = default_path("degdme")
    manifest = (path.parent / "MANIFEST.md").read_text()
    assert hashlib.sha256(path.read_bytes()).hexdigest() in manifest, "update the sha256 in MANIFEST.md"
