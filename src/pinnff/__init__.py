"""pinnff: physics-embedded neural-network force fields (AMOEBA+ PINN).

The package knows nothing of Snakemake: every stage is a function with
explicit inputs and outputs plus a thin command in :mod:`pinnff.cli`.
"""

__version__ = "0.1.0"
