"""Kept for the path the first releases documented:
`pytest_lambda_image.cleanup.flush()` is now `pytest_lambda_image.flush_removals()`."""

from __future__ import annotations

from ._runtime.cleanup import flush

__all__ = ["flush"]
