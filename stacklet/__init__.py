"""Stacklet: a lightweight OpenStack-compatible cloud."""

__version__ = "0.1.0"
