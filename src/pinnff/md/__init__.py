"""Molecular dynamics: a resumable driver around ASE integrators."""
