"""The embedded broker never hands out a port another process answers on (parallel test workers, a second
platform on the same machine)."""

from __future__ import annotations

import pytest
from rcm_shared import broker as embedded
from rcm_shared.broker import EmbeddedBroker, PortTaken, listener_pids

pytestmark = pytest.mark.integration


def test_a_taken_port_is_refused_not_shared() -> None:
    first = EmbeddedBroker.start()
    try:
        assert listener_pids(first.port) == {first.process.pid}
        with pytest.raises(PortTaken):
            EmbeddedBroker.start(port=first.port)
        assert first.is_running()
    finally:
        first.stop()


def test_a_chosen_port_taken_meanwhile_is_chosen_again(monkeypatch: pytest.MonkeyPatch) -> None:
    first = EmbeddedBroker.start()
    chosen = iter([first.port])  # the first choice races with `first`, the next is really free
    monkeypatch.setattr(embedded, "free_port", lambda: next(chosen, None) or _really_free())
    try:
        second = EmbeddedBroker.start()
        try:
            assert second.port != first.port
            assert listener_pids(second.port) == {second.process.pid}
        finally:
            second.stop()
    finally:
        first.stop()


_free = embedded.free_port


def _really_free() -> int:
    return _free()
