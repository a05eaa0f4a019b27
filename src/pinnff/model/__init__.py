"""The PINN: invariant descriptors, per-element networks and the AMOEBA+ parameter heads."""
