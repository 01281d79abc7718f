"""The symbols of CPython's stable ABI and the version that added each, from ``abi3info``.

``abi3info`` is generated from CPython's ``Misc/stable_abi.toml`` and kept current by its maintainers (a new
CPython adds symbols each year), so shipwheel does not carry a copy of the table. It is imported on first use:
only ``verify`` of an abi3 wheel needs it.
"""

from __future__ import annotations

from functools import cache

__all__ = ["stable_abi"]


@cache
def stable_abi() -> dict[str, tuple[int, int]]:
    """Symbol name -> ``(major, minor)`` of the Python version that added it to the stable ABI (functions and
    data)."""
    import abi3info

    table: dict[str, tuple[int, int]] = {}
    for items in (abi3info.FUNCTIONS, abi3info.DATAS):
        for symbol, item in items.items():
            table[symbol.name] = (int(item.added.major), int(item.added.minor))
    return table
