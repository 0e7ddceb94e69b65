"""The recording engines, each an adapter behind :mod:`custos.recorder.port`."""
