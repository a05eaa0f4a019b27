"""Training: optimizers (Adam, Tabu-Adam) and the training stage."""
