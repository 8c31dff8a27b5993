"""The classic group coordinator: JoinGroup/SyncGroup/Heartbeat/LeaveGroup state and committed offsets' guard.

States as in Kafka: Empty -> PreparingRebalance (members (re)join) -> CompletingRebalance (the leader's
SyncGroup brings the assignment) -> Stable. A join waits on the store's condition until every known member
has rejoined or the rebalance timeout drops the missing ones; members learn of a rebalance from their
heartbeat (REBALANCE_IN_PROGRESS). A member silent for its session timeout is removed the next time the
group is looked at. There is no initial rebalance delay (Kafka waits 3 s for a new group), so a single
consumer joins at once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from kafka_server import errors

EMPTY, PREPARING, COMPLETING, STABLE = "Empty", "PreparingRebalance", "CompletingRebalance", "Stable"


@dataclass
class Member:
    member_id: str
    group_instance_id: str | None
    client_id: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    joined: bool = False
    waiting: int = 0  # requests of this member blocked in join/sync: it is alive while they wait
    last_seen: float = field(default_factory=time.monotonic)

    def expired(self, now: float) -> bool:
        return not self.waiting and now - self.last_seen > self.session_timeout_ms / 1000


@dataclass
class Group:
    group_id: str
    state: str = EMPTY
    generation: int = 0
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    rebalance_deadline: float = 0.0


@dataclass
class JoinResult:
    error: int
    generation: int = -1
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader: str = ""
    member_id: str = ""
    members: list[tuple[str, str | None, bytes]] = field(default_factory=list)


class GroupCoordinator:
    def __init__(
        self, changed: threading.Condition, stopping: threading.Event, session_timeout_range: tuple[int, int]
    ) -> None:
        self.changed = changed
        self.stopping = stopping
        #: group.min.session.timeout.ms and group.max.session.timeout.ms
        self.session_timeout_range = session_timeout_range
        self.groups: dict[str, Group] = {}

    def group(self, group_id: str) -> Group | None:
        """The group after dropping members whose session expired."""
        group = self.groups.get(group_id)
        if group is not None:
            now = time.monotonic()
            for member in [m for m in group.members.values() if m.expired(now)]:
                self._remove(group, member.member_id)
        return group

    # ------------------------------------------------------------------------------ join
    def join(
        self,
        group_id: str,
        member_id: str,
        instance_id: str | None,
        client_id: str,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        protocol_type: str,
        protocols: list[tuple[str, bytes]],
    ) -> JoinResult:
        low, high = self.session_timeout_range
        if not low <= session_timeout_ms <= high:
            return JoinResult(errors.INVALID_SESSION_TIMEOUT, member_id=member_id)
        with self.changed:
            group = self.group(group_id) or self.groups.setdefault(group_id, Group(group_id))
            if not member_id:
                member_id = f"{client_id or 'member'}-{uuid.uuid4()}"
                group.pending.add(member_id)
                return JoinResult(errors.MEMBER_ID_REQUIRED, member_id=member_id)
            if member_id not in group.members and member_id not in group.pending:
                return JoinResult(errors.UNKNOWN_MEMBER_ID, member_id=member_id)
            if not self._compatible(group, member_id, protocol_type, protocols):
                return JoinResult(errors.INCONSISTENT_GROUP_PROTOCOL, member_id=member_id)
            group.pending.discard(member_id)
            member = group.members.get(member_id)
            if member is not None and member.protocols == protocols and self._keeps_generation(group, member_id):
                member.last_seen = time.monotonic()
                return self._join_result(group, member)
            if member is None:
                member = group.members[member_id] = Member(
                    member_id, instance_id, client_id, session_timeout_ms, rebalance_timeout_ms, protocols
                )
            member.protocols, member.rebalance_timeout_ms = protocols, rebalance_timeout_ms
            group.protocol_type = protocol_type
            if group.state != PREPARING:
                self._prepare_rebalance(group)
            member.joined = True
            target = group.generation + 1
            member.waiting += 1
            try:
                return self._await_join(group, member, target)
            finally:
                member.waiting -= 1
                member.last_seen = time.monotonic()

    def _await_join(self, group: Group, member: Member, target: int) -> JoinResult:
        while True:
            if member.member_id not in group.members:
                return JoinResult(errors.UNKNOWN_MEMBER_ID, member_id=member.member_id)
            if group.generation >= target:
                return self._join_result(group, member)
            now = time.monotonic()
            if group.state == PREPARING and now >= group.rebalance_deadline:
                for missing in [m.member_id for m in group.members.values() if not m.joined]:
                    del group.members[missing]
            if group.state == PREPARING and all(m.joined for m in group.members.values()):
                self._complete_join(group)
                continue
            if self.stopping.is_set():
                return JoinResult(errors.REBALANCE_IN_PROGRESS, member_id=member.member_id)
            self.changed.wait(max(group.rebalance_deadline - now, 0.05))

    @staticmethod
    def _keeps_generation(group: Group, member_id: str) -> bool:
        """Kafka answers a known member rejoining unchanged with the current generation, no new rebalance,
        while the leader's sync is awaited, or when the group is stable and the member is not its leader."""
        return group.state == COMPLETING or (group.state == STABLE and member_id != group.leader)

    @staticmethod
    def _join_result(group: Group, member: Member) -> JoinResult:
        members = []
        if member.member_id == group.leader:
            members = [
                (m.member_id, m.group_instance_id, dict(m.protocols)[group.protocol_name or ""])
                for m in group.members.values()
            ]
        return JoinResult(
            errors.NONE,
            group.generation,
            group.protocol_type,
            group.protocol_name,
            group.leader or "",
            member.member_id,
            members,
        )

    def _compatible(self, group: Group, member_id: str, protocol_type: str, protocols: list[tuple[str, bytes]]) -> bool:
        others = [m for m in group.members.values() if m.member_id != member_id]
        if not protocols or (others and group.protocol_type != protocol_type):
            return False
        names = {name for name, _ in protocols}
        return all(names & {name for name, _ in m.protocols} for m in others)

    def _prepare_rebalance(self, group: Group) -> None:
        group.state = PREPARING
        for member in group.members.values():
            member.joined = False
        timeout = max((m.rebalance_timeout_ms for m in group.members.values()), default=0)
        group.rebalance_deadline = time.monotonic() + timeout / 1000
        self.changed.notify_all()

    def _complete_join(self, group: Group) -> None:
        group.generation += 1
        if not group.members:
            group.state, group.leader, group.protocol_name = EMPTY, None, None
        else:
            common = set.intersection(*({n for n, _ in m.protocols} for m in group.members.values()))
            votes = Counter(next(n for n, _ in m.protocols if n in common) for m in group.members.values())
            group.protocol_name = votes.most_common(1)[0][0]
            if group.leader not in group.members:
                group.leader = next(iter(group.members))
            group.state = COMPLETING
        self.changed.notify_all()

    # ------------------------------------------------------------------------------ sync, heartbeat, leave
    def sync(self, group_id: str, generation: int, member_id: str, assignments: dict[str, bytes]) -> tuple[int, bytes]:
        with self.changed:
            group = self.group(group_id)
            error = self._check_member(group, generation, member_id)
            if error:
                return error, b""
            assert group is not None
            member = group.members[member_id]
            member.last_seen = time.monotonic()
            if group.state == COMPLETING and member_id == group.leader:
                for each in group.members.values():
                    each.assignment = assignments.get(each.member_id, b"")
                group.state = STABLE
                self.changed.notify_all()
            member.waiting += 1
            try:
                while group.state == COMPLETING and group.generation == generation and not self.stopping.is_set():
                    self.changed.wait(1.0)
            finally:
                member.waiting -= 1
                member.last_seen = time.monotonic()
            if group.state != STABLE or group.generation != generation or member_id not in group.members:
                return errors.REBALANCE_IN_PROGRESS, b""
            return errors.NONE, member.assignment

    def heartbeat(self, group_id: str, generation: int, member_id: str) -> int:
        with self.changed:
            group = self.group(group_id)
            error = self._check_member(group, generation, member_id)
            if error:
                return error
            assert group is not None
            group.members[member_id].last_seen = time.monotonic()
            return errors.REBALANCE_IN_PROGRESS if group.state == PREPARING else errors.NONE

    def leave(self, group_id: str, member_ids: list[str]) -> list[int]:
        with self.changed:
            group = self.group(group_id)
            results = []
            for member_id in member_ids:
                if group is None or member_id not in group.members:
                    results.append(errors.UNKNOWN_MEMBER_ID)
                else:
                    self._remove(group, member_id)
                    results.append(errors.NONE)
            return results

    def _check_member(self, group: Group | None, generation: int, member_id: str) -> int:
        if group is None or member_id not in group.members:
            return errors.UNKNOWN_MEMBER_ID
        if group.state == PREPARING and generation == group.generation:
            return errors.REBALANCE_IN_PROGRESS
        if generation != group.generation:
            return errors.ILLEGAL_GENERATION
        return errors.NONE

    def _remove(self, group: Group, member_id: str) -> None:
        del group.members[member_id]
        if group.state == PREPARING:
            if all(m.joined for m in group.members.values()):
                self._complete_join(group)
        elif group.members:
            self._prepare_rebalance(group)
        else:
            group.generation += 1
            group.state, group.leader, group.protocol_name = EMPTY, None, None
        self.changed.notify_all()

    def delete(self, group_id: str) -> int:
        """Forget a group without active members (its committed offsets are the store's to drop)."""
        group = self.group(group_id)
        if group is not None and group.members:
            return errors.NON_EMPTY_GROUP
        self.groups.pop(group_id, None)
        return errors.NONE

    # ------------------------------------------------------------------------------ offsets
    def commit_error(self, group_id: str, generation: int, member_id: str) -> int:
        """Whether a commit is accepted: a simple consumer's (generation -1) only while no member is active."""
        if not group_id:
            return errors.INVALID_GROUP_ID
        group = self.group(group_id)
        if generation < 0 and (group is None or group.state == EMPTY):
            return errors.NONE
        if group is None:
            return errors.UNKNOWN_MEMBER_ID
        if group.state == COMPLETING:
            return errors.REBALANCE_IN_PROGRESS
        if member_id not in group.members:
            return errors.UNKNOWN_MEMBER_ID
        if generation != group.generation:
            return errors.ILLEGAL_GENERATION
        return errors.NONE
