"""Plain-type round trip of the model's frozen settings dataclasses (checkpoints and config files)."""

from __future__ import annotations

from dataclasses import asdict

from pinnff.errors import InputError


class PlainSettings:
    """Mixin for frozen dataclasses: :meth:`as_dict` (tuples as lists) and its inverse :meth:`from_dict`
    (lists back to tuples; an unknown or missing key is one :class:`InputError` line naming
    ``SETTINGS_NAME``)."""

    SETTINGS_NAME = "settings"

    def as_dict(self) -> dict:
        """Plain-type dict (for checkpoints and config files)."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict):
        try:
            return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in values.items()})
        except TypeError as error:
            raise InputError(f"{cls.SETTINGS_NAME}: {error}") from None
