"""Validation against DFT: per-model predictions on held-out sets, error metrics, accuracy figures."""
