"""What the HTTP door remembers: for a second at most, refreshed ahead by one caller."""

from __future__ import annotations

from trustdesk.http.recent import Recent


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_lives_a_second_and_one_caller_refreshes_it_past_half() -> None:
    clock = Clock()
    recent: Recent[str, int] = Recent(ttl=1.0, clock=clock)
    assert recent.get("key") is None
    recent.put("key", 1)
    clock.now = 0.4
    assert recent.get("key") == 1
    clock.now = 0.6
    assert recent.get("key") is None  # this caller asks again ...
    assert [recent.get("key") for _ in range(3)] == [1, 1, 1]  # ... the others need not
    recent.put("key", 2)
    clock.now = 1.0
    assert recent.get("key") == 2  # refreshed at 0.6: fresh until 1.6
    clock.now = 1.6
    assert recent.get("key") is None  # never refreshed since: gone at its second
    assert recent.get("key") is None


def test_a_forgotten_answer_is_gone_and_the_size_is_bounded() -> None:
    recent: Recent[int, bool] = Recent(size=3, clock=Clock())
    for key in range(3):
        recent.put(key, True)
    recent.forget(0)
    assert recent.get(0) is None
    recent.put(3, True)
    recent.put(4, True)  # past the size: forgotten all at once
    assert len(recent) == 1
    assert recent.get(4) is True


def test_the_caller_told_to_refresh_still_gets_the_answer() -> None:
    clock = Clock()
    recent: Recent[str, int] = Recent(ttl=1.0, clock=clock)
    recent.put("key", 1)
    assert recent.look("key") == (1, False)
    clock.now = 0.6
    assert recent.look("key") == (1, True)  # this caller refreshes, behind its request ...
    assert [recent.look("key") for _ in range(3)] == [(1, False)] * 3  # ... only this one
    clock.now = 1.0
    assert recent.look("key") == (None, False)  # not refreshed: gone at its second
    assert recent.look("other") == (None, False)
