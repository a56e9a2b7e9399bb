"""The benchmarks' shared output format: a readable two-column table, then the figures as one JSON line."""

from __future__ import annotations

import json


def print_report(rows: list[tuple[str, str]], figures: dict) -> None:
    """Print ``rows`` (label, value) aligned in two columns, then ``figures`` as JSON on the last line."""
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(json.dumps(figures))
