"""The configuration schema accepts the shipped configs and rejects bad ones with a clear message."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pinnff import config
from pinnff.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def merged(*files):
    """Recursive merge of YAML files, as Snakemake does with --configfile."""
    def update(base, new):
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                update(base[key], value)
            else:
                base[key] = value
        return base

    result = {}
    for path in files:
        update(result, yaml.safe_load(Path(path).read_text()))
    return result


@pytest.mark.parametrize("preset", [None, "smoke", "paper", "counterpoise"])
def test_shipped_configs_validate(preset):
    files = [ROOT / "config/config.yaml"] + ([ROOT / f"config/presets/{preset}.yaml"] if preset else [])
    config.validate(merged(*files))


def test_default_config_lists_every_schema_key():
    """config.yaml documents every tunable: it equals the schema's defaults filled over it, key for key."""
    shipped = merged(ROOT / "config/config.yaml")
    assert config.validate(merged(ROOT / "config/config.yaml")) == shipped


def test_defaults_fill_nested_sections():
    filled = config.validate({})
    assert filled["dimers"]["set_A"]["n_train"] == 200
    assert filled["label"]["pyscf"]["basis"] == "def2-svp"


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"dimers": {"set_A": {"n_train": -3}}}, "dimers.set_A.n_train"),
        ({"label": {"backend": "orca"}}, "label.backend"),
        ({"noise": {"sigmas_kcal": [1.0, 1.0]}}, "noise.sigmas_kcal"),
        ({"dimerz": {}}, "dimerz"),
        ({"label": {"pyscf": {"grid_level": "fine"}}}, "label.pyscf.grid_level"),
        ({"molecule": {"density_g_cm3": 0}}, "molecule.density_g_cm3"),
    ],
)
def test_bad_values_are_rejected_naming_the_key(bad, message):
    with pytest.raises(InputError, match=message.replace(".", r"\.")):
        config.validate(bad)


def test_cli_bad_settings_exit_2_with_one_line(tmp_path):
    run = subprocess.run([sys.executable, "-m", "pinnff.cli", "conformers", "--settings", '{"n_embed": 0}',
                          "--out", str(tmp_path / "x.extxyz")], capture_output=True, text=True)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "n_embed" in lines[0] and "Traceback" not in run.stderr


def test_cli_missing_file_exit_2(tmp_path):
    run = subprocess.run([sys.executable, "-m", "pinnff.cli", "dimers", "--pool", str(tmp_path / "none.extxyz"),
                          "--out-dir", str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [f"pinnff dimers: error: {tmp_path / 'none.extxyz'}: no such file"]


def test_environment_yml_has_the_pyproject_pins():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    assert pins == {p for p in pip if "==" in p}


def test_settings_file_with_other_sections_is_a_whole_config(tmp_path):
    """A YAML file naming any top-level section is a whole config: a section it lacks takes its defaults."""
    from pinnff.config import section

    path = tmp_path / "partial.yaml"
    path.write_text("md:\n  outer_step_fs: 4.0\n")
    assert section(str(path), "md")["outer_step_fs"] == 4.0
    assert section(str(path), "physics") == section(None, "physics")
    path.write_text("outer_step_fs: 4.0\n")  # the section alone
    assert section(str(path), "md")["outer_step_fs"] == 4.0
