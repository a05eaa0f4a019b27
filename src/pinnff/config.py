"""Configuration: loading, schema validation with defaults, per-stage sections.

The schema is ``config.schema.yaml`` beside this module (also reachable as
``workflow/schemas/config.schema.yaml``). Validation fills in defaults and
reports the first problem as one line naming the key.
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from pathlib import Path

import yaml

from pinnff.errors import InputError


@functools.cache
def schema() -> dict:
    """The configuration schema."""
    return yaml.safe_load(resources.files("pinnff").joinpath("config.schema.yaml").read_text())


def _validator_with_defaults():
    from jsonschema import Draft202012Validator, validators

    base = Draft202012Validator

    def set_defaults(validator, properties, instance, subschema):
        if isinstance(instance, dict):
            for name, rule in properties.items():
                if "default" in rule:
                    instance.setdefault(name, copy.deepcopy(rule["default"]))
        yield from base.VALIDATORS["properties"](validator, properties, instance, subschema)

    return validators.extend(base, {"properties": set_defaults})


def validate(config: dict, sub_schema: dict | None = None, where: str = "config") -> dict:
    """Validate ``config`` in place (defaults filled) and return it.

    Raises :class:`InputError` naming the offending key, e.g.
    ``config: dimers.set_A.n_train: -3 is less than the minimum of 0``.
    """
    from jsonschema.exceptions import best_match

    full = schema()
    target = dict(full, **(sub_schema or {})) if sub_schema else full
    validator = _validator_with_defaults()(target)
    error = best_match(validator.iter_errors(config))
    if error is not None:
        key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise InputError(f"{where}: {key}: {error.message}")
    return config


def validate_section(values: dict | None, *keys: str) -> dict:
    """A copy of ``values`` validated as the config section at ``keys`` (e.g. ``"train", "amoeba"``),
    the schema's defaults filled in: the one source of every section's defaults for code outside
    the workflow. A bad key or value is one :class:`InputError` line naming it."""
    sub = schema()
    for key in keys:
        sub = sub["properties"][key]
    return validate(copy.deepcopy(dict(values or {})), sub_schema=sub, where="config: " + ".".join(keys))


def read_yaml(path: str | Path) -> object:
    """Parsed YAML file (``{}`` when empty); :class:`InputError` naming the file when it is missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None


def section(settings: str | None, name: str) -> dict:
    """The validated ``name`` section from a ``--settings`` argument.

    ``settings`` is inline JSON of the section, or a YAML file holding either
    the section or a whole config (any top-level section name makes it one; a section it
    lacks takes its defaults); ``None`` gives the defaults.
    """
    if settings is None:
        data: dict = {}
    elif settings.lstrip().startswith("{"):
        try:
            data = json.loads(settings)
        except json.JSONDecodeError as exc:
            raise InputError(f"--settings: not valid JSON ({exc})") from None
    else:
        data = read_yaml(settings)
        if isinstance(data, dict) and set(data) & set(schema()["properties"]):  # a whole config
            data = data.get(name, {})
    wrapped = validate({name: data}, where=f"--settings {name}" if settings is None else str(settings))
    return wrapped[name]


def add_settings_argument(parser, name: str) -> None:
    """Add the standard ``--settings`` option for config section ``name``."""
    parser.add_argument(
        "--settings",
        metavar="JSON|FILE",
        help=f"the '{name}' config section as inline JSON, or a YAML file (a whole config or the section); "
        "omitted keys take their defaults",
    )
