"""AWS event-stream binary framing (application/vnd.amazon.eventstream), the encoding side.

Each message: prelude (total length u32, headers length u32, CRC32 of those 8 bytes), headers,
payload, then the CRC32 of everything before it. Headers here are all strings (type 7), which is
all Bedrock's ConverseStream sends. botocore's `botocore.eventstream` is the decoder we must
satisfy.
"""

from __future__ import annotations

import json
import struct
from binascii import crc32
from typing import Any

_STRING_HEADER_TYPE = 7


def encode_headers(headers: dict[str, str]) -> bytes:
    encoded = bytearray()
    for name, value in headers.items():
        name_bytes = name.encode("utf-8")
        value_bytes = value.encode("utf-8")
        encoded += struct.pack("!B", len(name_bytes)) + name_bytes
        encoded += struct.pack("!BH", _STRING_HEADER_TYPE, len(value_bytes)) + value_bytes
    return bytes(encoded)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    header_bytes = encode_headers(headers)
    total_length = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack("!II", total_length, len(header_bytes))
    prelude += struct.pack("!I", crc32(prelude) & 0xFFFFFFFF)
    message = prelude + header_bytes + payload
    return message + struct.pack("!I", crc32(message) & 0xFFFFFFFF)


def encode_event(event_type: str, body: dict[str, Any]) -> bytes:
    """An `event` message as Bedrock sends it, e.g. `contentBlockDelta` with a JSON payload."""
    return _encode_json("event", event_type, body)


def encode_exception(exception_type: str, body: dict[str, Any]) -> bytes:
    """A modeled exception inside a 200 stream; botocore raises it as EventStreamError."""
    return _encode_json("exception", exception_type, body)


def _encode_json(message_type: str, name: str, body: dict[str, Any]) -> bytes:
    # An event names itself in `:event-type`, an exception in `:exception-type`.
    headers = {
        f":{message_type}-type": name,
        ":content-type": "application/json",
        ":message-type": message_type,
    }
    return encode_message(headers, json.dumps(body).encode("utf-8"))
