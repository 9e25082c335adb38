"""The DynamoDB Local harness fails loudly, never skips, when it is not installed."""

from __future__ import annotations

import pytest

from tests.support.dynamodb_local import DynamoDBLocal, DynamoDBLocalMissing


def test_a_missing_java_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(DynamoDBLocalMissing, match=r"scripts/dynamodb-local\.sh install"):
        DynamoDBLocal().start()
