"""SWIM's verdicts on members: suspicion, death, refutation, and the news that carries them.

The detector (swim.py) accuses the neighbours its probes found silent; news
from peers accuses, confirms, refutes or buries others. A suspicion not refuted
within Lifeguard's timeout (suspicion.py: from 6 x down to `dead_after` as
independent accusers confirm it) becomes a death. News of
a newcomer travels on, within a budget per period, so passive views sample the
whole network. A node that hears of its own death, or was itself stopped that
long, asks its neighbours to take it in again (`Joins.rejoin`).
"""

from __future__ import annotations

from collections import OrderedDict

from gossip.broadcasts import Update
from gossip.joins import Joins
from gossip.members import Local, Member, Send
from gossip.messages import ALIVE, DEAD, GOSSIP, PING, SUSPECT
from gossip.suspicion import Suspicion

STRANGER_NEWS = 1  # news of addresses not in any view relayed per period
HEARD = 4096  # newcomer news remembered, so each is relayed once
RANK = {ALIVE: 0, SUSPECT: 1, DEAD: 2}  # at equal incarnation, suspect beats alive, dead both


class Heard:
    """Keys seen lately (a bounded LRU): news passed on once per node, as in SWIM's
    infection-style dissemination, so no rumour circulates for ever."""

    def __init__(self, size: int = HEARD) -> None:
        self.size = size
        self._keys: OrderedDict[tuple, None] = OrderedDict()

    def __contains__(self, key: tuple) -> bool:
        return key in self._keys

    def add(self, key: tuple) -> None:
        self._keys[key] = None
        if len(self._keys) > self.size:
            self._keys.popitem(last=False)


class NewcomerNews:
    """Which news of newcomers travels on: each (address, incarnation) once, and at most
    STRANGER_NEWS a period, so passive views sample the whole network (SWIM's join
    dissemination) while a flood of invented newcomers cannot own them."""

    def __init__(self) -> None:
        self._budget = STRANGER_NEWS
        self._heard = Heard()

    def new_period(self) -> None:
        self._budget = STRANGER_NEWS

    def relay(self, address: str, incarnation: int) -> bool:
        """True (and counted) when this news should be passed on."""
        if (address, incarnation) in self._heard or self._budget <= 0:
            return False
        self._budget -= 1
        self._heard.add((address, incarnation))
        return True


class Verdicts:
    """Who this node holds alive, suspect or dead, and why."""

    def __init__(self, local: Local, joins: Joins, dead_after: float) -> None:
        self.local, self.joins, self.dead_after = local, joins, dead_after
        self.newcomers = NewcomerNews()
        self.hearsay = Heard()  # claims about nodes outside the active view, passed on once
        self._last_rejoin: float | None = None

    def suspicion_timeout(self) -> float:
        """The shortest (fully confirmed) suspicion: `dead_after`, SWIM's fixed timeout.

        memberlist scales it by log10 of the cluster's size (SuspicionMult x log10(N) x
        ProbeInterval) because there a suspicion reaches its subject, and the refutation
        its accusers, by epidemic, in O(log N) rounds. Here each accuser tells the subject
        at once and the subject refutes to every accuser and neighbour at once (only its
        neighbours can suspect it), so both take one hop whatever N is; the log factor
        only delayed real deaths (9.3 s at a view of 73: the 2026-12-07 soak's last holders
        missed 3 x dead_after)."""
        return self.dead_after

    def expected_confirmations(self) -> int:
        """memberlist's k = SuspicionMult - 2, none when too few others could confirm.

        Its SuspicionMult counts probe periods (SuspicionMult x ProbeInterval is our
        `dead_after`), so k is `dead_after` in periods less two, whatever unit it is given
        in. memberlist's "too few" is n - 2 (all but us and the subject: everyone probes
        everyone); here only the subject's neighbours probe it, about as many as ours."""
        k = max(0, round(self.dead_after / self.local.period) - 2)
        return k if len(self.local.active) - 1 >= k else 0

    def new_period(self, now: float) -> None:
        """Refill the newcomer-news budget and bury the suspects whose time ran out."""
        self.newcomers.new_period()
        self.expire(now)

    def suspect(self, address: str, now: float, accuser: str) -> None:
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
        if accuser != self.local.self_addr:
            # A peer's word: ping it now rather than at our next period or probe turn, so our
            # own silence, which a verdict needs (suspicion.py), is timed from the first news.
            self.local.out.append(self.ping(member, now))
        self.local.event("peer_suspect", now, address, member.node_id)

    def ping(self, member: Member, now: float) -> Send:
        """A ping of a suspect: its ack ends the suspicion (swim.py); until then our silence
        is timed from the oldest such ping."""
        if member.suspicion is not None and member.suspicion.pinged_at is None:
            member.suspicion.pinged_at = now
        return (PING, member.address, {"nonce": self.local.probes.next_nonce("s"),
                                       "updates": []})

    def silent(self, address: str, now: float, since: float) -> None:
        """Our own probe or ping of `address`, sent at `since`, went unanswered: our accusation,
        and time toward believing a peer that declared it dead (suspicion.py)."""
        member = self.local.active.get(address)
        if member is None:
            return
        self.suspect(address, now, self.local.self_addr)
        suspicion = member.suspicion
        if suspicion is not None:
            if suspicion.silent_since is None:
                suspicion.silent_since = min(since, now)
            if suspicion.settled(now, self.dead_after):
                self._declare_dead(member, now, reason="confirmed")

    def expire(self, now: float) -> None:
        shortest = self.suspicion_timeout()
        for member in list(self.local.active.values()):
            suspicion = member.suspicion
            if suspicion is not None and now - suspicion.since >= suspicion.timeout(shortest):
                self._declare_dead(member, now)

    def _declare_dead(self, member: Member, now: float, reason: str = "silent") -> None:
        local = self.local
        del local.active[member.address]
        local.dead.bury(member.address, member.incarnation, now)
        local.news.queue((DEAD, member.address, member.node_id, member.incarnation, ""))
        local.version += 1
        silent = now - (member.suspect_since if member.suspect_since is not None else now)
        local.event("peer_dead", now, member.address, member.node_id, reason=reason,
                    suspected_for=silent)

    def rejoin(self, now: float) -> None:
        """Rejoin the neighbours, at most once per suspicion timeout: a rogue repeating
        news of our death must not make us churn every period."""
        if self._last_rejoin is not None and now - self._last_rejoin < self.suspicion_timeout():
            return
        self._last_rejoin = now
        self.joins.rejoin(now)

    def apply(self, updates: list[Update], now: float, sender: str | None = None) -> None:
        """News from the proven peer at address `sender` (memberlist's rules, made strict
        because without CURVE anyone who can listen on an address can prove it):

        - only a node raises its own incarnation: "alive" about a neighbour counts only
          from that neighbour itself (its refutation; an ack to our own probe clears a
          suspicion too, swim.py);
        - suspicion and death claims about a neighbour count only at the incarnation we
          hold for it, and only as one accuser's word, the sender's: our own suspicion
          timer decides (shorter as independent accusers confirm), or a peer's verdict
          once our own pings agree (suspicion.py; a verdict at another incarnation counts
          too, about a member we suspect already: one of us may have missed a refutation);
          the subject's refutation or its ack cancels it;
        - a node's news of its own death is its goodbye (`Membership.leave`), believed
          at once.
        A claim about this node at an incarnation it never had is forged, and ignored.
        """
        for state, address, node_id, incarnation, *_ in updates:
            if address == self.local.self_addr:
                if state == DEAD and incarnation == self.local.incarnation:
                    self.rejoin(now)
                self._about_self(state, incarnation, sender)
            elif address in self.local.active:
                self._about_neighbour(state, self.local.active[address], incarnation, now,
                                      sender)
            elif state == ALIVE:
                self._alive(address, node_id, incarnation, sender or "")
            else:
                self._not_alive(state, address, node_id, incarnation, now)

    def _about_neighbour(self, state: str, member: Member, incarnation: int, now: float,
                         sender: str | None) -> None:
        local = self.local
        if sender == member.address:  # the subject itself
            if state == DEAD and incarnation >= member.incarnation:
                self._declare_dead(member, now, reason="left")
            elif state == ALIVE and incarnation > member.incarnation:
                member.incarnation = incarnation
                if member.suspicion is not None:
                    member.suspicion = None
                    local.version += 1
                local.news.queue((ALIVE, member.address, member.node_id, incarnation, ""))
            return
        if state == ALIVE or not sender:
            return  # another's word for its liveness
        if incarnation == member.incarnation:  # at another it is forged or old: no accusation
            self.suspect(member.address, now, sender)
        if state == DEAD and member.suspicion is not None:
            # A verdict about a member we suspect, at whatever incarnation its sender held
            # (either side of a refutation one of us missed just before it crashed): it
            # counts once our own pings agree, so a liar's verdict on a live member is void.
            member.suspicion.buried_by.add(sender)
            if member.suspicion.settled(now, self.dead_after):
                self._declare_dead(member, now, reason="confirmed")

    def _about_self(self, state: str, incarnation: int, sender: str | None) -> None:
        """SWIM's refutation: a live node suspected (or declared dead) outbids the rumour.
        A claim about the incarnation this node holds raises it by one, told to every
        neighbour at once; a lower one is old news, answered with the current "alive" to
        whoever sent it alone (it may hold us in a one-sided view, and only our own word
        clears its suspicion; telling every neighbour each time a relayed copy arrived
        multiplied what one forged claim cost); a higher one was never ours: forged,
        ignored."""
        local = self.local
        if state == ALIVE or incarnation > local.incarnation:
            return
        told = {sender} if sender else set()
        if incarnation == local.incarnation:
            local.incarnation = incarnation + 1
            local.probes.adjust(+1)  # Lifeguard: being suspected hints that we are the slow one
            # Whoever suspects us holds us in its active view, as we mostly hold it in ours:
            # tell every neighbour at once rather than wait for the epidemic.
            told |= set(local.active)
        update = (ALIVE, local.self_addr, local.node_id, local.incarnation, "")
        local.news.queue(update)
        # Four fields: only a suspicion names an accuser, and a receiver drops the rest (every
        # refutation sent at once was dropped so, until the 2026-12-07 soak showed it).
        local.out += [(GOSSIP, a, {"updates": [list(update[:4])]}) for a in told]

    def _alive(self, address: str, node_id: str, incarnation: int, sender: str) -> None:
        """News of a node outside the active view: a rumour for the passive view (the
        sender's share of it). It travels on only if that node answered us itself, so an
        invented address goes no further than the node it was told to."""
        local = self.local
        buried = local.dead.incarnation(address, now=local.last_tick or 0.0)
        if buried is not None and incarnation <= buried:
            return
        pending = local.news.pending(address)
        if pending is not None and pending[0] != ALIVE and incarnation > pending[3]:
            local.news.queue((ALIVE, address, node_id, incarnation, ""))  # carry the refutation
        elif address in local.answered and self.newcomers.relay(address, incarnation):
            local.news.queue((ALIVE, address, node_id, incarnation, ""))
        local.passive.add(address, node_id, local.rng, sender)

    def _not_alive(self, state: str, address: str, node_id: str, incarnation: int,
                   now: float) -> None:
        """A claim about a node outside the active view: passed on once (the neighbours that
        hold it judge it by their own rules) and its address leaves our passive view. It
        buries nothing: a tombstone from hearsay would let one liar keep a node out of our
        views. We cannot check its incarnation, so a claim at any incarnation travels and
        none blocks another: a forged one at 2^53 must not stop the real news about the same
        node at the incarnation its neighbours hold (it did, and circulated for ever)."""
        local = self.local
        buried = local.dead.incarnation(address, now)
        if buried is not None and incarnation <= buried:
            return
        if state == DEAD:  # each time: a shuffle may have brought it back since the last
            local.passive.remove(address)
        key = (address, state, incarnation)
        if key in self.hearsay:
            return
        pending = local.news.pending(address)
        if pending is not None and pending[3] >= incarnation and (
                pending[0] == ALIVE or (pending[3] == incarnation and pending[0] == DEAD)):
            return  # a refutation outbids older claims; a death, the suspicion before it
        self.hearsay.add(key)
        local.news.queue((state, address, node_id, incarnation, ""))
