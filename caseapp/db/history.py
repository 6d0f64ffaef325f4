"""What a flush is about to change, read attribute by attribute.

``inspect(obj).attrs`` builds an inspector entry for every mapped attribute of the
object: a cost that shows when an import flushes thousands of new rows, where the flush
hooks need one or two attributes of each.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm.attributes import History, get_history, instance_state
from sqlalchemy.orm.base import PASSIVE_NO_INITIALIZE


def history(obj: object, key: str) -> History:
    """Changes to ``key`` since the last flush, without loading anything."""
    return get_history(obj, key, passive=PASSIVE_NO_INITIALIZE)


def has(obj: object, key: str) -> bool:
    """Whether ``obj``'s class maps an attribute ``key``."""
    return key in instance_state(obj).manager


def loaded_value(obj: object, key: str) -> Any:
    """The value of ``key`` as loaded or set (None if neither), without loading it."""
    return instance_state(obj).dict.get(key)
