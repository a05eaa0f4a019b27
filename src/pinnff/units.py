"""Unit constants. Internally pinnff speaks Angstrom, kcal/mol, e, fs, K."""

HARTREE_TO_KCAL = 627.5094740631
"""kcal/mol per Hartree (CODATA 2018)."""

BOHR_TO_ANGSTROM = 0.529177210903
"""Angstrom per Bohr (CODATA 2018)."""

EV_TO_KCAL = 23.060547830619026
"""kcal/mol per eV (CODATA 2018)."""

AVOGADRO = 6.02214076e23
"""Particles per mol."""

KCAL_TO_J = 4184.0
"""J per kcal (thermochemical calorie)."""

BOLTZMANN_KCAL_PER_MOL_K = 8.314462618 / KCAL_TO_J
"""k_B in kcal/mol/K: the molar gas constant 8.314462618 J/(mol K) (exact, SI 2019) over 4184 J/kcal."""

ATM_A3_IN_KCAL_PER_MOL = 101325.0 * 1e-30 * AVOGADRO / KCAL_TO_J
"""1 atm x 1 Angstrom^3 in kcal/mol: 101325 Pa x 1e-30 m^3 x N_A / 4184 J/kcal = 1.458397e-5."""

ACCELERATION_A_FS2 = 4.184e-4
"""Angstrom/fs^2 per (kcal/mol/Angstrom / amu): 4184 J/mol / (1e-10 m x 1e-3 kg/mol) = 4.184e16 m/s^2,
times 1e10 A/m and 1e-30 s^2/fs^2."""
