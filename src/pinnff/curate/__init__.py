"""Curation: the geometries to be labelled (conformers, monomers, dimers, trimers, scans)."""
