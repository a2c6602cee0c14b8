"""Go's sync/atomic types: ``Int32``, ``Int64``, ``Uint32``, ``Uint64``,
``Bool`` and ``Value``, all lock-free.

The integer types' ``add`` wraps around modulo the type's width, as in Go
(so ``Uint32().add(-1)`` is 4294967295); any other out-of-range value
raises OverflowError. ``Value.compare_and_swap`` compares by identity
(``is``), unlike Go's ``==``: calling ``==`` would run Python code inside an
atomic operation.
"""

from __future__ import annotations

from ._native import Bool, Int32, Int64, Uint32, Uint64, Value

__all__ = ["Bool", "Int32", "Int64", "Uint32", "Uint64", "Value"]
