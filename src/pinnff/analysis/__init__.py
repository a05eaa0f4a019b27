"""Analysis of MD trajectories: centre-of-mass MSD, self-diffusion, RDFs, experiment, figures.

Modules:

- :mod:`pinnff.analysis.msd` -- unwrapping, whole molecules, centre-of-mass
  trajectories and the FFT mean-squared displacement (Angstrom, fs).
- :mod:`pinnff.analysis.diffusion` -- diffusive window, linear fit, block
  error bars and the Yeh-Hummer finite-size correction (D in 1e-9 m^2/s).
- :mod:`pinnff.analysis.trajectory` -- reading any ASE-readable trajectory
  into a centre-of-mass trajectory.
- :mod:`pinnff.analysis.experimental` -- cited experimental reference data.
- :mod:`pinnff.analysis.plots` -- MSD curves with their fit windows.
- :mod:`pinnff.analysis.rdf` -- intermolecular radial distribution functions.
- :mod:`pinnff.analysis.md_figures` -- thermo traces, RDFs and D of MD runs
  (the ``pinnff md-figures`` subcommand).
- :mod:`pinnff.analysis.commands` -- the ``pinnff diffusion`` subcommand.
"""
