"""Helpers shared by the labelling tests."""


class CountingBackend:
    """Wraps a labelling backend and counts its calls."""

    def __init__(self, inner):
        self.inner, self.calls, self.engine, self.level = inner, 0, inner.engine, inner.level

    def compute(self, *args):
        self.calls += 1
        return self.inner.compute(*args)
