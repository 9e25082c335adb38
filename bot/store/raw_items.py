"""Query results handed over as DynamoDB sent them, skipping botocore's shape-driven parser.

botocore parses a response by walking the operation's output shape in pure Python, value by
value. For a Query of a thread's history (about 100 items of nine attributes) that costs
1.6 ms of CPU per turn, twenty times what `json.loads` of the same body takes, and a busy
process pays it while holding the interpreter lock. DynamoDB's wire format already *is* the
`{"S": ...}` / `{"N": ...}` form botocore returns for the low-level client, so the items are
taken straight from the JSON body; botocore still parses the rest of the response (Count,
LastEvaluatedKey, errors) and checks the body's CRC32 as usual.

One difference remains: binary values (`B`, `BS`) stay base64 text instead of bytes. The
message table stores none (bot/store/dynamodb_items.py writes strings, numbers and maps).
"""

from __future__ import annotations

import json
from typing import Any

RAW_ITEM_OPERATIONS = ("Query",)


def take_items_unparsed(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """botocore `before-parse` handler: move `Items` out of the body before botocore parses it."""
    if response_dict.get("status_code") != 200:
        return  # errors go through botocore's parser untouched
    body = json.loads(response_dict["body"])
    items = body.pop("Items", None)
    if items is None:
        return
    customized_response_dict["Items"] = items
    response_dict["body"] = json.dumps(body).encode()


def read_items_unparsed(client: Any) -> Any:
    """Register the handler on a DynamoDB client (returned for chaining)."""
    for operation in RAW_ITEM_OPERATIONS:
        client.meta.events.register(f"before-parse.dynamodb.{operation}", take_items_unparsed)
    return client
