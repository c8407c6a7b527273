"""SWIM's failure detection with Lifeguard's refinements (Das et al. 2002; Dadgar et al. 2018).

One active member pinged per period, `indirect_probes` helpers asked when it
does not answer (probe.py), then suspicion; a suspect that hears of it refutes
with a higher incarnation; a suspect not refuted within the suspicion timeout
(suspicion.py: Lifeguard's timeout, from 6 x down to `dead_after` x log10
of the view size as other members confirm the suspicion) is dead. News (alive / suspect / dead
with incarnation) rides on pings and acks and, while a suspicion, death or
refutation is pending, on a `gossip` message to `fanout` active members per
period (broadcasts.py). A node that was itself stopped that long, or hears of
its own death, asks its neighbours to take it in again (`Views.rejoin`).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from gossip.broadcasts import Update
from gossip.hyparview import Views
from gossip.members import Local, Member, Reply, Send
from gossip.messages import ACK, ALIVE, DEAD, GOSSIP, NACK, PING, PING_REQ, SUSPECT
from gossip.probe import PROBE_TIMEOUT, Probe
from gossip.suspicion import Suspicion

PIGGYBACK = 6  # updates riding on one ping or ack
GOSSIP_UPDATES = 16  # updates in one gossip message
STRANGER_NEWS = 1  # news of addresses not in any view relayed per period
HEARD = 4096  # newcomer news remembered, so each is relayed once
RANK = {ALIVE: 0, SUSPECT: 1, DEAD: 2}  # at equal incarnation, suspect beats alive, dead both


@dataclass
class _Relayed:
    """A ping this node sends on behalf of a `ping_req`: ack or nack goes back to `reply_to`."""

    reply_to: Reply
    nonce: str
    deadline: float


class Detector:
    """Probes, suspicions, deaths and the news that carries them, for one node."""

    def __init__(self, local: Local, views: Views, fanout: int, indirect_probes: int,
                 dead_after: float) -> None:
        self.local, self.views = local, views
        self.fanout, self.indirect_probes, self.dead_after = fanout, indirect_probes, dead_after
        self._relayed: dict[str, _Relayed] = {}
        self._stranger_news = STRANGER_NEWS
        self._heard: OrderedDict[tuple[str, int], None] = OrderedDict()  # newcomers relayed
        self._last_rejoin: float | None = None
        self._pinged_suspects: list[str] = []  # suspects pinged this period, to confirm if silent

    def suspicion_timeout(self) -> float:
        """The shortest (fully confirmed) suspicion: suspicion_mult x log10(N) periods, as in
        memberlist; `dead_after` at N <= 10."""
        return self.dead_after * max(1.0, math.log10(self.local.group_size()))

    def expected_confirmations(self) -> int:
        """memberlist's k = suspicion_mult - 2, none when too few others could confirm."""
        k = max(0, int(self.dead_after) - 2)
        return k if self.local.group_size() - 2 >= k else 0

    # --- timers -------------------------------------------------------------------

    def timers(self, now: float, sends: list[Send]) -> None:
        """Within a period: indirect probes when the ping went unanswered, relays that expired."""
        probe = self.local.probes.current
        if probe and not probe.acked and not probe.indirect_sent and now >= probe.indirect_at:
            self._ask_helpers(probe, sends)
        for nonce, relayed in list(self._relayed.items()):
            if now >= relayed.deadline:
                del self._relayed[nonce]
                sends.append((NACK, relayed.reply_to, {"nonce": relayed.nonce}))

    def period(self, now: float, sends: list[Send]) -> None:
        """A new protocol period: judge the last probe, start the next, spread pending news."""
        local = self.local
        self._stranger_news = STRANGER_NEWS
        suspect = local.probes.finish()
        if suspect is not None:
            self._suspect(suspect, now, local.self_addr)
        self._expire_suspicions(now)
        probe = local.probes.start(list(local.active), now)
        if probe is not None:
            sends.append((PING, probe.target, self.probe_body(probe.nonce)))
        probed = probe.target if probe is not None else None
        for address in self._pinged_suspects:
            member = local.active.get(address)
            if member is not None and member.suspicion is not None:  # it did not answer us
                self._suspect(address, now, local.self_addr)  # our own confirmation
        self._pinged_suspects = []
        for member in local.active.values():  # an ack from a suspect itself clears it
            if member.suspect_since is not None and member.address != probed:
                self._pinged_suspects.append(member.address)
                sends.append((PING, member.address, {"nonce": local.probes.next_nonce("s"),
                                                     "updates": []}))
        if local.news.urgent():  # news of joins rides on pings and acks alone
            for address in local.random_active(self.fanout):
                sends.append((GOSSIP, address, {"updates": self._updates(GOSSIP_UPDATES)}))

    def stalled(self, gap: float, now: float) -> None:
        """This node was not running (SIGSTOP, swap): its timers saw time its peers did not."""
        if gap >= self.suspicion_timeout():
            self._rejoin(now)  # long enough for its neighbours to have declared it dead
        self.local.probes.cancel()
        self.local.probes.adjust(+1)
        for member in self.local.active.values():
            if member.suspicion is not None:
                member.suspicion.since += gap

    # --- messages -----------------------------------------------------------------

    def on_ping(self, body: dict[str, Any], now: float, reply_to: Reply) -> list[Send]:
        self.apply(body["updates"], now)
        return [(ACK, reply_to, self.probe_body(body["nonce"]))]

    def on_ping_req(self, body: dict[str, Any], now: float, reply_to: Reply) -> list[Send]:
        """Ping `target` for a helper-seeking prober; its ack or our nack goes back."""
        target, _ = body["target"]
        nonce = self.local.probes.next_nonce("r")
        deadline = now + self.local.probes.scaled(self.local.period * PROBE_TIMEOUT)
        self._relayed[nonce] = _Relayed(reply_to, body["nonce"], deadline)
        return [(PING, target, {"nonce": nonce, "updates": []})]

    def on_ack(self, address: str, body: dict[str, Any], now: float) -> list[Send]:
        self.apply(body["updates"], now)
        relayed = self._relayed.pop(body["nonce"], None)
        if relayed is not None:
            return [(ACK, relayed.reply_to, {"nonce": relayed.nonce, "updates": []})]
        probe = self.local.probes.current
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

    # --- suspicion and death ------------------------------------------------------

    def _suspect(self, address: str, now: float, accuser: str) -> None:
        """Start suspecting a neighbour, or count another accuser of a suspicion (Lifeguard)."""
        member = self.local.active.get(address)
        if member is None:
            return
        update = (SUSPECT, address, member.node_id, member.incarnation, accuser)
        if member.suspicion is not None:
            if member.suspicion.confirm(accuser):
                self.local.news.queue(update)  # pass the confirmation on: others count it too
            return
        member.suspicion = Suspicion(now, self.expected_confirmations(),
                                     {accuser} if accuser else set())
        self.local.version += 1
        self.local.news.queue(update)
        self.local.out.append((GOSSIP, address, {"updates": [list(update)]}))  # so it can refute
        self.local.event("peer_suspect", now, address, member.node_id)

    def _expire_suspicions(self, now: float) -> None:
        shortest = self.suspicion_timeout()
        for member in list(self.local.active.values()):
            suspicion = member.suspicion
            if suspicion is not None and now - suspicion.since >= suspicion.timeout(shortest):
                self._declare_dead(member, now)

    def _declare_dead(self, member: Member, now: float) -> None:
        local = self.local
        del local.active[member.address]
        local.dead.bury(member.address, member.incarnation, now)
        local.news.queue((DEAD, member.address, member.node_id, member.incarnation, ""))
        local.version += 1
        silent = now - (member.suspect_since if member.suspect_since is not None else now)
        local.event("peer_dead", now, member.address, member.node_id, suspected_for=silent)

    def _rejoin(self, now: float) -> None:
        """Rejoin the neighbours, at most once per suspicion timeout: a rogue repeating
        news of our death must not make us churn every period."""
        if self._last_rejoin is not None and now - self._last_rejoin < self.suspicion_timeout():
            return
        self._last_rejoin = now
        self.views.rejoin(now)

    # --- news ---------------------------------------------------------------------

    def apply(self, updates: list[Update], now: float) -> None:
        """News from a proven peer; a suspicion's accuser may be missing (4 fields)."""
        for state, address, node_id, incarnation, *accuser in updates:
            if address == self.local.self_addr:
                if state == DEAD:
                    self._rejoin(now)
                self._about_self(state, incarnation)
            elif state == ALIVE:
                self._alive(address, node_id, incarnation)
            else:
                self._not_alive(state, address, node_id, incarnation, now,
                                accuser[0] if accuser else "")

    def _about_self(self, state: str, incarnation: int) -> None:
        """SWIM's refutation: a live node suspected (or declared dead) outbids the rumour."""
        local = self.local
        if state != ALIVE and incarnation >= local.incarnation:
            local.incarnation = incarnation + 1
            update = (ALIVE, local.self_addr, local.node_id, local.incarnation, "")
            local.news.queue(update)
            # Whoever suspects us holds us in its active view, as we hold it in ours: tell
            # every neighbour at once rather than wait for the epidemic to find them.
            local.out += [(GOSSIP, a, {"updates": [list(update)]}) for a in local.active]
            local.probes.adjust(+1)  # Lifeguard: being suspected hints that we are the slow one

    def _alive(self, address: str, node_id: str, incarnation: int) -> None:
        local = self.local
        member = local.active.get(address)
        if member is not None:
            if incarnation > member.incarnation:
                member.incarnation = incarnation
                if member.suspicion is not None:
                    member.suspicion = None
                    local.version += 1
                local.news.queue((ALIVE, address, node_id, incarnation, ""))
            return
        buried = local.dead.incarnation(address, now=local.last_tick or 0.0)
        if buried is not None and incarnation <= buried:
            return
        pending = local.news.pending(address)
        if pending is not None and pending[0] != ALIVE and incarnation > pending[3]:
            local.news.queue((ALIVE, address, node_id, incarnation, ""))  # carry the refutation
        elif (address, incarnation) not in self._heard and self._stranger_news > 0:
            # News of a newcomer travels on (SWIM's join dissemination), so passive views
            # sample the whole network; a budget per period keeps a flood from owning them.
            self._stranger_news -= 1
            self._heard[(address, incarnation)] = None
            if len(self._heard) > HEARD:
                self._heard.popitem(last=False)
            local.news.queue((ALIVE, address, node_id, incarnation, ""))
        local.passive.add(address, node_id, local.rng)

    def _not_alive(self, state: str, address: str, node_id: str, incarnation: int,
                   now: float, accuser: str) -> None:
        local = self.local
        member = local.active.get(address)
        if member is not None:
            if incarnation < member.incarnation:
                return
            if member.suspicion is not None and state == DEAD:
                self._declare_dead(member, now)
            else:
                member.incarnation = incarnation
                # Our own timer decides (the suspect may refute); each accuser shortens it.
                self._suspect(address, now, accuser if state == SUSPECT else "")
            return
        buried = local.dead.incarnation(address, now)
        pending = local.news.pending(address)
        if buried is not None and incarnation <= buried:
            return
        if pending is not None and (pending[3], RANK[pending[0]]) >= (incarnation, RANK[state]):
            return
        if state == DEAD:
            local.passive.remove(address)
            local.dead.bury(address, incarnation, now)
        local.news.queue((state, address, node_id, incarnation, accuser))
