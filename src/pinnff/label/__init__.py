"""Labelling: reference energies (and forces) for curated geometries."""
