"""Plumbing shared by every Stacklet service."""
