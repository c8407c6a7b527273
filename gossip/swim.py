"""SWIM's failure detection with Lifeguard's refinements (Das et al. 2002; Dadgar et al. 2018).

One active member pinged per period, `indirect_probes` helpers asked when it
does not answer (probe.py), then suspicion, which verdicts.py judges: a suspect
that hears of it refutes with a higher incarnation, one not refuted in time is
dead. News (alive / suspect / dead with incarnation) rides on pings and acks
and, while a suspicion, death or refutation is pending, on a `gossip` message
to `fanout` active members per period (broadcasts.py). Suspects are pinged
every period: an ack clears the suspicion, silence confirms it (Lifeguard), and
counts toward believing another holder's verdict (suspicion.py).

A dropped TCP connection to a neighbour (dealers.py) is HyParView's failure
detector, used here as a hint only: the neighbour is probed at once, as at its
turn (ping, then helpers), and only that probe's silence accuses it. A live
neighbour whose connection flapped answers; a rogue cannot cut our connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gossip.members import Local, Reply, Send
from gossip.messages import ACK, GOSSIP, NACK, PING, PING_REQ
from gossip.probe import PROBE_TIMEOUT, Probe
from gossip.verdicts import Verdicts

PIGGYBACK = 6  # updates riding on one ping or ack
GOSSIP_UPDATES = 16  # updates in one gossip message


@dataclass
class _Relayed:
    """A ping this node sends on behalf of a `ping_req`: ack or nack goes back to `reply_to`."""

    reply_to: Reply
    nonce: str
    deadline: float


class Detector:
    """Probes of neighbours, and the pings this node relays for others' probes."""

    def __init__(self, local: Local, verdicts: Verdicts, fanout: int,
                 indirect_probes: int) -> None:
        self.local, self.verdicts = local, verdicts
        self.fanout, self.indirect_probes = fanout, indirect_probes
        self._relayed: dict[str, _Relayed] = {}
        self._hinted: dict[str, Probe] = {}  # neighbours probed on a dropped connection
        self._last_hint: dict[str, float] = {}  # when each was last so probed (rate limit)

    # --- timers -------------------------------------------------------------------

    def timers(self, now: float, sends: list[Send]) -> None:
        """Within a period: indirect probes when the ping went unanswered, relays that expired."""
        probe = self.local.probes.current
        if probe and not probe.acked and not probe.indirect_sent and now >= probe.indirect_at:
            self._ask_helpers(probe, sends)
        for address, hinted in list(self._hinted.items()):
            if not hinted.acked and not hinted.indirect_sent and now >= hinted.indirect_at:
                self._ask_helpers(hinted, sends)
            if now - hinted.sent_at >= self.local.probes.scaled(self.local.period):
                del self._hinted[address]
                if not hinted.acked:
                    self.verdicts.silent(address, now, since=hinted.sent_at)
        for nonce, relayed in list(self._relayed.items()):
            if now >= relayed.deadline:
                del self._relayed[nonce]
                sends.append((NACK, relayed.reply_to, {"nonce": relayed.nonce}))

    def period(self, now: float, sends: list[Send]) -> None:
        """A new protocol period: judge the last probe, start the next, spread pending news."""
        local = self.local
        failed = local.probes.finish()
        if failed is not None:
            self.verdicts.silent(failed.target, now, since=failed.sent_at)
        answer_within = local.probes.scaled(local.period * PROBE_TIMEOUT)
        for member in list(local.active.values()):  # suspects that left our pings unanswered
            pinged = member.suspicion.pinged_at if member.suspicion is not None else None
            if pinged is not None and now - pinged >= answer_within:
                self.verdicts.silent(member.address, now, since=pinged)
        self.verdicts.new_period(now)
        probe = local.probes.start(list(local.active), now)
        if probe is not None:
            sends.append((PING, probe.target, self.probe_body(probe.nonce)))
        probed = probe.target if probe is not None else None
        for member in local.active.values():  # an ack from a suspect itself clears it
            if member.suspicion is not None and member.address != probed:
                sends.append(self.verdicts.ping(member, now))
        if local.news.urgent():  # news of joins rides on pings and acks alone
            for address in local.random_active(self.fanout):
                sends.append((GOSSIP, address, {"updates": self._updates(GOSSIP_UPDATES)}))

    def connection_dropped(self, address: str, now: float, sends: list[Send]) -> None:
        """Our connection to `address` dropped: probe it now if it is a neighbour, at most
        once a period, unless a probe or a suspect's ping of it is already unanswered."""
        local = self.local
        member = local.active.get(address)
        current = local.probes.current
        if (member is None or address in self._hinted
                or (current is not None and current.target == address and not current.acked)
                or (member.suspicion is not None and member.suspicion.pinged_at is not None)):
            return
        last = self._last_hint.get(address)
        if last is not None and now - last < local.probes.scaled(local.period):
            return
        for known in [a for a in self._last_hint if a not in local.active]:
            del self._last_hint[known]  # bounded by the active view
        self._last_hint[address] = now
        timeout = local.probes.scaled(local.period * PROBE_TIMEOUT)
        probe = Probe(address, local.probes.next_nonce("h"), now, now + timeout)
        self._hinted[address] = probe
        sends.append((PING, address, self.probe_body(probe.nonce)))

    def stalled(self, gap: float, now: float) -> None:
        """This node was not running (SIGSTOP, swap): its timers saw time its peers did not."""
        if gap >= self.verdicts.suspicion_timeout():
            self.verdicts.rejoin(now)  # long enough for its neighbours to have declared it dead
        self.local.probes.cancel()
        self._hinted.clear()  # their acks may wait unread: no silence to judge
        self.local.probes.adjust(+1)
        asleep = now - gap  # news read on waking, before this tick, came after the gap
        for member in self.local.active.values():
            suspicion = member.suspicion
            if suspicion is None:
                continue
            if suspicion.since <= asleep:
                suspicion.since += gap
            if suspicion.pinged_at is not None and suspicion.pinged_at <= asleep:
                suspicion.pinged_at = None  # its ack may wait unread: no silence to judge
            if suspicion.silent_since is not None and suspicion.silent_since <= asleep:
                suspicion.silent_since += gap

    # --- messages -----------------------------------------------------------------

    def on_ping(self, body: dict[str, Any], now: float, reply_to: Reply,
                sender: str | None = None) -> list[Send]:
        self.verdicts.apply(body["updates"], now, sender)
        return [(ACK, reply_to, self.probe_body(body["nonce"]))]

    def on_ping_req(self, body: dict[str, Any], now: float, reply_to: Reply) -> list[Send]:
        """Ping `target` for a helper-seeking prober; its ack or our nack goes back."""
        target, _ = body["target"]
        nonce = self.local.probes.next_nonce("r")
        deadline = now + self.local.probes.scaled(self.local.period * PROBE_TIMEOUT)
        self._relayed[nonce] = _Relayed(reply_to, body["nonce"], deadline)
        return [(PING, target, {"nonce": nonce, "updates": []})]

    def on_ack(self, address: str, body: dict[str, Any], now: float) -> list[Send]:
        self.verdicts.apply(body["updates"], now, address)
        relayed = self._relayed.pop(body["nonce"], None)
        if relayed is not None:
            return [(ACK, relayed.reply_to, {"nonce": relayed.nonce, "updates": []})]
        for probe in (self.local.probes.current, *self._hinted.values()):
            if probe is not None and body["nonce"] == probe.nonce:
                probe.acked = True
        member = self.local.active.get(address)
        if member is not None and member.suspicion is not None:
            member.suspicion = None  # it answered us itself: no rumour outweighs that
            self.local.version += 1
        return []

    def on_nack(self, body: dict[str, Any]) -> None:
        probe = self.local.probes.current
        if probe is not None and body["nonce"] == probe.nonce:
            probe.nacks += 1

    def probe_body(self, nonce: str) -> dict[str, Any]:
        return {"nonce": nonce, "updates": self._updates(PIGGYBACK)}

    def _updates(self, n: int) -> list[list]:
        return self.local.news.take(n, self.local.group_size())

    def _ask_helpers(self, probe: Probe, sends: list[Send]) -> None:
        probe.indirect_sent = True
        member = self.local.active.get(probe.target)
        helpers = [a for a in self.local.active if a != probe.target]
        helpers = self.local.rng.sample(helpers, min(self.indirect_probes, len(helpers)))
        probe.nacks_expected = len(helpers)
        target = [probe.target, member.node_id if member else ""]
        for helper in helpers:
            sends.append((PING_REQ, helper, {"nonce": probe.nonce, "target": target}))

