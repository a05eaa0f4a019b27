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
