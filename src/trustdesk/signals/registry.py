"""The registered signals, by name.

A signal is registered by adding it to :data:`SIGNALS` (one line); from then on the
contract test (``tests/signals/test_contract.py``) runs over it, and fails until
``tests/signals/signal_examples.py`` gives it an example. Names are unique and stable.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from trustdesk.signals.contract import Signal, UnknownSignal
from trustdesk.signals.digests import MD5, SHA256
from trustdesk.signals.domains import URL_DOMAINS
from trustdesk.signals.image_pdq import IMAGE_PDQ_SIGNAL
from trustdesk.signals.terms import TERMS
from trustdesk.signals.video_pdq import VIDEO_PDQ_SIGNAL

_REGISTERED: tuple[Signal[Any], ...] = (
    TERMS,
    SHA256,
    MD5,
    URL_DOMAINS,
    IMAGE_PDQ_SIGNAL,
    VIDEO_PDQ_SIGNAL,
)

SIGNALS: Mapping[str, Signal[Any]] = MappingProxyType({s.name: s for s in _REGISTERED})
if len(SIGNALS) != len(_REGISTERED):  # pragma: no cover - a registration mistake
    raise RuntimeError("two registered signals share a name")


def names() -> tuple[str, ...]:
    """The registered signals' names, sorted."""
    return tuple(sorted(SIGNALS))


def get(name: str) -> Signal[Any]:
    """The signal called ``name``, or :class:`UnknownSignal`."""
    try:
        return SIGNALS[name]
    except KeyError:
        raise UnknownSignal(f"no signal {name!r}; known: {', '.join(names())}") from None
