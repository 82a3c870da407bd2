"""Compute (Nova v2.1): API, conductor, scheduler, compute agents and drivers."""
