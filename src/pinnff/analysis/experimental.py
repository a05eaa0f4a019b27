"""Experimental reference data with their citations (``resources/experimental/*.yaml``).

A data file names one compound and lists measured properties under
``properties``; each entry holds ``value``, ``unit``, ``temperature_K`` and a
``citation`` with ``authors``, ``title``, ``journal``, ``volume``, ``pages``,
``year`` and ``doi``. Properties that could not be sourced are listed under
``not_sourced`` with the reason, and carry no value. The loader refuses any
value without a complete citation: a number with no citation is not data.

Canonical units (values are converted on loading):

- ``density``: g/cm^3
- ``viscosity`` (shear): mPa s
- ``self_diffusion``: 1e-9 m^2/s
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from pinnff.errors import InputError

CITATION_FIELDS = ("authors", "title", "journal", "volume", "pages", "year", "doi")
"""Fields every citation must fill."""

UNITS = {
    "density": {"g/cm^3": 1.0, "g/mL": 1.0, "kg/m^3": 1e-3},
    "viscosity": {"mPa s": 1.0, "cP": 1.0, "Pa s": 1e3},
    "self_diffusion": {"1e-9 m^2/s": 1.0, "1e-10 m^2/s": 0.1, "m^2/s": 1e9, "cm^2/s": 1e5},
}
"""Accepted units of each property and their factor to the canonical unit (the first)."""

CANONICAL = {name: next(iter(units)) for name, units in UNITS.items()}


@dataclass(frozen=True)
class Measurement:
    """One cited experimental value, in the canonical unit of its property."""

    name: str
    value: float
    uncertainty: float | None
    unit: str
    temperature_K: float
    method: str
    citation: dict
    where: str

    def cite(self) -> str:
        """The citation on one line: authors, journal volume, pages (year), doi."""
        c = self.citation
        return f"{c['authors']}, {c['journal']} {c['volume']}, {c['pages']} ({c['year']}), doi:{c['doi']}"


def _check_citation(citation, where: str) -> dict:
    if not isinstance(citation, dict):
        raise InputError(f"{where}: has no citation; a value without a citation is not used")
    missing = [f for f in CITATION_FIELDS if not str(citation.get(f, "") or "").strip()]
    if missing:
        raise InputError(f"{where}: citation lacks {', '.join(missing)}; a value without a full citation is not used")
    doi = str(citation["doi"]).strip()
    if not doi.startswith("10.") or "/" not in doi:
        raise InputError(f"{where}: citation doi {doi!r} is not a DOI (10.xxxx/...)")
    return dict(citation)


def _measurement(name: str, entry, where: str) -> Measurement:
    if name not in UNITS:
        raise InputError(f"{where}: unknown property (known: {', '.join(UNITS)})")
    if not isinstance(entry, dict):
        raise InputError(f"{where}: must be a mapping with value, unit, temperature_K and citation")
    citation = _check_citation(entry.get("citation"), where)
    unit = entry.get("unit")
    if unit not in UNITS[name]:
        raise InputError(f"{where}: unit {unit!r} not one of {', '.join(UNITS[name])}")
    factor = UNITS[name][unit]
    try:
        value = float(entry["value"])
        temperature = float(entry["temperature_K"])
        uncertainty = None if entry.get("uncertainty") is None else float(entry["uncertainty"]) * factor
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{where}: value and temperature_K must be numbers ({exc})") from exc
    if not value > 0 or not temperature > 0:
        raise InputError(f"{where}: value and temperature_K must be positive")
    return Measurement(name, value * factor, uncertainty, CANONICAL[name], temperature,
                       str(entry.get("method", "")), citation, where)


def load_experimental(path: str | os.PathLike) -> dict[str, Measurement]:
    """The cited measurements of a data file, by property name, in canonical units.

    Raises :class:`~pinnff.errors.InputError` naming the file and property for
    a value without a complete citation, an unknown unit or property, or
    malformed YAML.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("properties"), dict):
        raise InputError(f"{path}: needs a 'properties' mapping")
    for k, entry in enumerate(data.get("not_sourced") or []):
        if not isinstance(entry, dict) or "property" not in entry or not entry.get("reason"):
            raise InputError(f"{path}: not_sourced[{k}] needs 'property' and 'reason'")
        if "value" in entry:
            raise InputError(f"{path}: not_sourced[{k}] ({entry['property']}) carries a value; "
                             f"an unsourced value is not data")
        if entry["property"] in data["properties"]:
            raise InputError(f"{path}: {entry['property']} is both sourced and not_sourced")
    return {name: _measurement(name, entry, f"{path}: properties.{name}")
            for name, entry in data["properties"].items()}


def not_sourced(path: str | os.PathLike) -> dict[str, str]:
    """Properties a data file lists as not sourced, with the reason for each."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    return {entry["property"]: " ".join(str(entry["reason"]).split()) for entry in data.get("not_sourced") or []}


def default_path(compound: str = "degdme") -> Path:
    """``resources/experimental/<compound>.yaml`` of this checkout (the repository root above ``src``)."""
    return Path(__file__).resolve().parents[3] / "resources" / "experimental" / f"{compound}.yaml"
