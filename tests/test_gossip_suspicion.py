"""Lifeguard's suspicion: one accuser cannot kill a member quickly, several confirm it at once."""

from __future__ import annotations

import math

from gossip.membership import Reply
from gossip.suspicion import MAX_MULT, Suspicion
from tests.test_gossip_membership import addr, make


def test_timeout_shrinks_from_max_to_min_with_each_new_accuser_and_no_further():
    s = Suspicion(since=0.0, expected=3, accusers={"first"})
    timeouts = [s.timeout(5.0)]
    for accuser in ("b", "b", "c", "d", "e", "f"):
        s.confirm(accuser)
        timeouts.append(s.timeout(5.0))
    assert timeouts[0] == MAX_MULT * 5.0  # the first accuser is not a confirmation
    assert timeouts[1] == timeouts[2]  # a repeat counts once
    assert timeouts[1] > timeouts[3] > timeouts[4] == 5.0
    assert timeouts[-1] == 5.0 and s.confirmations == 3  # capped at k: never below min
    assert math.isclose(timeouts[1], 30 - 25 * math.log(2) / math.log(4))
    assert Suspicion(since=0.0, expected=0).timeout(5.0) == 5.0  # too few to confirm: SWIM


def died_after(accusers: list[str], sender: str | None = None) -> float:
    """Seconds from the first accusation of a silent neighbour until this node declares it dead."""
    m = make(1, dead_after=5.0)
    for i in range(2, 10):  # eight neighbours; all answer but n2, which went silent
        m.on_request("join", addr(i), f"n{i}", {"neighbours": 1, "incarnation": 0,
                                                 "replace": False}, 0.0, Reply(addr(i)))
    now = 0.0
    for accuser in accusers:  # suspicions of n2 gossiped by its other neighbours themselves
        news = {"updates": [["suspect", addr(2), "n2", 0, accuser]]}
        m.on_request("gossip", sender or accuser, "n", news, now, Reply(sender or accuser))
    while now < 120.0:
        now += 0.25
        for kind, to, body in m.tick(now):
            if kind == "ping" and to != addr(2):
                m.on_reply("ack", to, "n", {"nonce": body["nonce"], "updates": []}, now)
            elif kind == "ping_req":  # helpers cannot reach n2 either, and say so
                m.on_reply("nack", to, "n", {"nonce": body["nonce"]}, now)
        if addr(2) not in m.live():
            assert addr(3) in m.live()  # only the silent one
            return now
    raise AssertionError("never declared dead")


def test_a_silent_neighbour_accused_by_three_dies_at_the_short_timeout_by_one_much_later():
    one = died_after([addr(3)])
    three = died_after([addr(3), addr(4), addr(5), addr(6)])
    assert three <= 5.0 + 0.5  # dead_after x max(1, log10 9): fully confirmed at once
    assert one >= 2 * three  # its own failed probe may confirm, but one more is not enough


def test_accusers_named_by_one_sender_count_as_that_sender_alone():
    """One proven peer may name any accusers it likes (issue 41): its word is one accusation."""
    forged = died_after([addr(3), addr(4), addr(5), addr(6)], sender=addr(3))
    assert forged >= 2 * died_after([addr(3), addr(4), addr(5), addr(6)])
