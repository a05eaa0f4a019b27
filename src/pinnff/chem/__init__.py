"""Chemistry: molecules, conformers, topology perception, packing."""
