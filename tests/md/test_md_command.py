"""``pinnff md`` never resumes a checkpoint made from other inputs."""

from types import SimpleNamespace

from pinnff.md.commands import _start_fresh_if_inputs_changed


def test_changed_inputs_discard_the_old_run_and_same_inputs_keep_it(tmp_path):
    run = SimpleNamespace(checkpoint=tmp_path / "checkpoint.npz", trajectory=tmp_path / "production.extxyz",
                          thermo=tmp_path / "thermo.csv")
    _start_fresh_if_inputs_changed(run, tmp_path, "aaa")
    for path in (run.checkpoint, run.trajectory, run.thermo):
        path.write_text("partial run")
    _start_fresh_if_inputs_changed(run, tmp_path, "aaa")  # same inputs: resume
    assert run.checkpoint.exists() and run.trajectory.exists()
    _start_fresh_if_inputs_changed(run, tmp_path, "bbb")  # another model, box or setting: start over
    assert not run.checkpoint.exists() and not run.trajectory.exists() and not run.thermo.exists()
    assert (tmp_path / "inputs.sha256").read_text().strip() == "bbb"


def test_md_settings_count_outer_steps_and_refuse_a_fractional_inner_step():
    import pytest

    from pinnff.config import section
    from pinnff.errors import InputError
    from pinnff.md.commands import md_settings

    md = section(None, "md")
    md.update(inner_step_fs=0.5, outer_step_fs=3.0, equilibration_ps=1.5, production_ps=6.0, sample_every_fs=30.0,
              checkpoint_every_fs=300.0)
    s = md_settings(md)
    assert (s.inner_steps, s.outer_step_fs, s.equilibration_steps, s.production_steps) == (6, 3.0, 500, 2000)
    assert (s.sample_every, s.checkpoint_every) == (10, 100)
    md.update(outer_step_fs=2.2)
    with pytest.raises(InputError, match="whole multiple"):
        md_settings(md)


def test_md_settings_with_a_middle_step_count_middle_and_inner_steps():
    import pytest

    from pinnff.config import section
    from pinnff.errors import InputError
    from pinnff.md.commands import md_settings

    md = section(None, "md")
    md.update(inner_step_fs=0.5, middle_step_fs=3.0, outer_step_fs=9.0, production_ps=9.0)
    s = md_settings(md)
    assert (s.inner_steps, s.middle_steps, s.outer_step_fs, s.production_steps) == (6, 3, 9.0, 1000)
    md.update(outer_step_fs=10.0)
    with pytest.raises(InputError, match="outer_step_fs 10.0 is not a whole multiple of md.middle_step_fs"):
        md_settings(md)
