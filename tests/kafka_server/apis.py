"""Which API keys and versions the broker serves, ApiVersions itself, and decoding a request frame.

Each API is served at exactly one version, the one kafka-python 3.0 picks against a Kafka 4.0 broker (the
client uses the highest version both sides support, and caps Produce at 9, Fetch at 12, OffsetCommit and
OffsetFetch at 8, JoinGroup at 7), so ApiVersions advertises ``min == max == that version``; every one of
them is still served by Kafka 4.x, and the client identifies the broker as 4.0 (ListOffsets v10).
All but OffsetDelete v0 and SaslHandshake v1 (which have no flexible version) are flexible versions
(KIP-482): request header v2, response header v1. ApiVersions is served at v0-v4 because a client sends
it before it knows anything, and its response header is always v0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from kafka_server import api_admin, api_group_admin, api_groups, api_read, api_write, errors, sasl
from kafka_server.context import Context
from kafka_server.protocol import ProtocolError, Reader, Writer

log = logging.getLogger("kafka_server")

Handler = Callable[[Context, Reader, Writer], "bool | None"]


@dataclass(frozen=True)
class Api:
    name: str
    version: int
    handler: Handler
    flexible: bool = True


API_VERSIONS = 18
API_VERSIONS_MAX = 4

SERVED: dict[int, Api] = {
    0: Api("Produce", 9, api_write.produce),
    1: Api("Fetch", 12, api_read.fetch),
    2: Api("ListOffsets", 10, api_read.list_offsets),
    3: Api("Metadata", 12, api_write.metadata),
    8: Api("OffsetCommit", 8, api_groups.offset_commit),
    9: Api("OffsetFetch", 8, api_groups.offset_fetch),
    10: Api("FindCoordinator", 6, api_groups.find_coordinator),
    11: Api("JoinGroup", 7, api_groups.join_group),
    12: Api("Heartbeat", 4, api_groups.heartbeat),
    13: Api("LeaveGroup", 5, api_groups.leave_group),
    14: Api("SyncGroup", 5, api_groups.sync_group),
    15: Api("DescribeGroups", 6, api_group_admin.describe_groups),
    16: Api("ListGroups", 5, api_group_admin.list_groups),
    17: Api("SaslHandshake", 1, sasl.handshake, flexible=False),
    19: Api("CreateTopics", 7, api_admin.create_topics),
    20: Api("DeleteTopics", 6, api_admin.delete_topics),
    22: Api("InitProducerId", 4, api_write.init_producer_id),
    23: Api("OffsetForLeaderEpoch", 4, api_read.offset_for_leader_epoch),
    32: Api("DescribeConfigs", 4, api_admin.describe_configs),
    36: Api("SaslAuthenticate", 2, sasl.authenticate),
    42: Api("DeleteGroups", 2, api_group_admin.delete_groups),
    44: Api("IncrementalAlterConfigs", 1, api_admin.incremental_alter_configs),
    47: Api("OffsetDelete", 0, api_group_admin.offset_delete, flexible=False),
}


@dataclass
class Request:
    api_key: int
    version: int
    correlation_id: int
    client_id: str | None
    body: Reader

    @property
    def flexible(self) -> bool:
        return self.body.flex


def parse_request(frame: bytes) -> Request:
    """Decode the request header; an API or version not served raises (Kafka closes such connections)."""
    r = Reader(frame)
    api_key, version, correlation_id = r.int16(), r.int16(), r.int32()
    client_id = r.nullable_string()  # a classic string even in header v2
    if api_key == API_VERSIONS:
        r.flex = 3 <= version <= API_VERSIONS_MAX
    elif api_key in SERVED and SERVED[api_key].version == version:
        r.flex = SERVED[api_key].flexible
    else:
        raise ProtocolError(f"API key {api_key} version {version} is not served by the test broker")
    r.tags()  # header v2's tagged fields
    return Request(api_key, version, correlation_id, client_id, r)


def handle(ctx: Context, request: Request) -> bytes | None:
    """The response frame's payload (header and body), or None when the request gets no response."""
    head = Writer(request.flexible and request.api_key != API_VERSIONS)
    head.int32(request.correlation_id).tags()
    body = Writer(request.flexible)
    if request.api_key == API_VERSIONS:
        api_versions(request, body)
    else:
        answered = SERVED[request.api_key].handler(ctx, request.body, body)
        if request.body.remaining():
            raise ProtocolError(f"{request.body.remaining()} bytes left after the {SERVED[request.api_key].name} body")
        if answered is False:
            return None
    return head.getvalue() + body.getvalue()


def api_versions(request: Request, w: Writer) -> None:
    """v0-v4; a newer version gets the v0 answer UNSUPPORTED_VERSION with the list, as Kafka does."""
    version = request.version
    if version > API_VERSIONS_MAX:
        w.flex = False
        version = 0
        error = errors.UNSUPPORTED_VERSION
    else:
        error = errors.NONE
        if w.flex:
            request.body.string()  # client_software_name
            request.body.string()  # client_software_version
            request.body.tags()
    keys = [(API_VERSIONS, 0, API_VERSIONS_MAX)] + [(key, api.version, api.version) for key, api in SERVED.items()]

    def entry(item: tuple[int, int, int]) -> None:
        w.int16(item[0]).int16(item[1]).int16(item[2]).tags()

    w.int16(error).array(sorted(keys), entry)
    if version >= 1:
        w.int32(0)
    w.tags()
    if request.version > API_VERSIONS_MAX:
        request.body.pos = len(request.body.data)  # a body in a format this broker does not know: skipped
