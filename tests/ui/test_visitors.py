"""ui.visitors: open tabs counted per visitor, their queued runs dropped with the last tab, the uploads
open sessions hold."""

from __future__ import annotations

from types import SimpleNamespace

from ui.visitors import Visitors


def test_visitors_drop_queued_runs_only_when_their_last_tab_ends() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.cancelled: list[str] = []

        def cancel_owner(self, owner: str, queued_only: bool = True) -> int:
            assert queued_only  # a running run always finishes into the store
            self.cancelled.append(owner)
            return 1

    counter, executor = Visitors(), Recorder()
    counter.arrive("ann")
    counter.arrive("ann")  # a second tab (or a reload) of the same browser
    counter.arrive("bob")
    assert counter.leave("ann", executor) == 0 and executor.cancelled == []
    assert counter.leave("ann", executor) == 1 and executor.cancelled == ["ann"]
    assert counter.count("ann") == 0 and counter.count("bob") == 1


def test_the_uploads_of_open_sessions_are_held_until_they_close() -> None:
    """What pruning spares: the uploads of every open session, released when that session ends."""
    counter, executor = Visitors(), SimpleNamespace(cancel_owner=lambda owner, queued_only=True: 0)
    ann: set[str] = set()
    bob: set[str] = set()
    counter.arrive("ann", ann)
    counter.arrive("bob", bob)
    counter.hold(ann, "a" * 64)
    counter.hold(bob, "b" * 64)
    assert counter.live_uploads() == {"a" * 64, "b" * 64}
    counter.leave("ann", executor, ann)
    assert counter.live_uploads() == {"b" * 64}
