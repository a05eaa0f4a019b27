"""Unit constants. Internally pinnff speaks Angstrom, kcal/mol, e, fs, K."""

HARTREE_TO_KCAL = 627.5094740631
"""kcal/mol per Hartree (CODATA 2018)."""

BOHR_TO_ANGSTROM = 0.529177210903
"""Angstrom per Bohr (CODATA 2018)."""

EV_TO_KCAL = 23.060547830619026
"""kcal/mol per eV (CODATA 2018)."""

AVOGADRO = 6.02214076e23
"""Particles per mol."""
