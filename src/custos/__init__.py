"""Custos: a public-security video image information system that watches the watchers."""

__version__ = "0.1.0"
