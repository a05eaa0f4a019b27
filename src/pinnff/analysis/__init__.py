"""Analysis of MD trajectories: centre-of-mass MSD, self-diffusion, RDFs, experiment, figures.

Modules:

- :mod:`pinnff.analysis.msd` -- unwrapping, whole molecules, centre-of-mass
  trajectories and the FFT mean-squared displacement (Angstrom, fs).
- :mod:`pinnff.analysis.diffusion` -- diffusive window (after the molecules
  moved farther than their radius of gyration), linear fit, block error bars
  and the Yeh-Hummer finite-size correction (D in 1e-9 m^2/s).
- :mod:`pinnff.analysis.replicas` -- D and its error from independent
  replicas, pooled MSD.
- :mod:`pinnff.analysis.finite_size` -- D at infinite box size and the
  viscosity from D at several box sizes.
- :mod:`pinnff.analysis.trajectory` -- reading any ASE-readable trajectory
  into a centre-of-mass trajectory.
- :mod:`pinnff.analysis.experimental` -- cited experimental reference data.
- :mod:`pinnff.analysis.plots` -- MSD curves of replicas and pooled, with
  their fit windows and local slopes.
- :mod:`pinnff.analysis.rdf` -- intermolecular radial distribution functions.
- :mod:`pinnff.analysis.md_figures` -- thermo traces, RDFs, densities and D of MD runs
  (the ``pinnff md-figures`` subcommand).
- :mod:`pinnff.analysis.commands` -- the ``pinnff diffusion`` subcommand.
- :mod:`pinnff.analysis.summary` -- ``pinnff diffusion-summary``: every
  potential and box size, one finite-size corrected D each.
"""
