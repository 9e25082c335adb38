"""`python -m bot usage` against DynamoDB Local and SQLite: the table it prints from the day
counters that turns write, grouped three ways, priced from the table or MODEL_PRICES."""

from __future__ import annotations

import time

import pytest

from bot.core.records import Usage, UsageRecord
from bot.core.usage import utc_day
from bot.store.dynamodb import DynamoDBMessageStore
from bot.store.sqlite import SQLiteMessageStore
from tests.e2e.commands.conftest import RunCli

SONNET = "us.anthropic.claude-sonnet-4-6"
TODAY = utc_day(time.time())
TWO_DAYS_AGO = utc_day(time.time() - 2 * 86400)


def fill(store: DynamoDBMessageStore | SQLiteMessageStore) -> None:
    sonnet = Usage(input_tokens=1_000_000, output_tokens=100_000, cache_read_tokens=2_000_000,
                   cache_write_tokens=400_000, model_id=SONNET)
    store.add_usage(UsageRecord(TODAY, "T1:C_ONE:1.000100", "U_ANA", sonnet, answers=3))
    store.add_usage(UsageRecord(TODAY, "T1:C_ONE:2.000100", "U_BOB",
                                Usage(input_tokens=500_000, model_id=SONNET), summaries=1))
    store.add_usage(UsageRecord(TWO_DAYS_AGO, "T1:C_TWO:3.000100", "U_ANA",
                                Usage(output_tokens=1_000_000, model_id="my-own-model"),
                                answers=1))


@pytest.fixture(params=["dynamodb", "sqlite"])
def env(request: pytest.FixtureRequest, dynamodb_client, tmp_path) -> dict[str, str]:
    if request.param == "dynamodb":
        env = request.getfixturevalue("dynamodb_env")
        fill(DynamoDBMessageStore(dynamodb_client, env["DYNAMODB_TABLE"], ttl_seconds=0))
        return env
    env = request.getfixturevalue("sqlite_env")
    store = SQLiteMessageStore(env["SQLITE_PATH"], ttl_seconds=0)
    fill(store)
    store.close()
    return env


def test_usage_prints_tokens_and_cost_by_channel(env: dict[str, str], run_cli: RunCli) -> None:
    result = run_cli("usage", "--since", "1d", env=env)

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"usage {TODAY} to {TODAY} (UTC), by channel"
    assert [cell.strip() for cell in lines[1].split("|")] == [
        "channel", "answers", "summaries", "input", "cache read", "cache write", "output",
        "cost USD"]
    rows = {line.split("|")[0].strip(): [c.strip() for c in line.split("|")[1:]] for line in lines[3:]}
    # 1.5 M input at $3, 0.1 M output at $15, 2 M cache reads at $0.30, 0.4 M writes at $3.75.
    assert rows["C_ONE"] == ["3", "1", "1,500,000", "2,000,000", "400,000", "100,000", "8.1000"]
    assert rows["total"] == rows["C_ONE"]
    assert "C_TWO" not in rows


def test_usage_by_user_over_a_week_names_what_it_cannot_price(
    env: dict[str, str], run_cli: RunCli
) -> None:
    result = run_cli("usage", "--by", "user", env=env)

    assert result.code == 0, result.err
    rows = {line.split("|")[0].strip(): line.split("|")[-1].strip()
            for line in result.out.splitlines()[3:] if "|" in line}
    assert rows == {"U_ANA": "?", "U_BOB": "1.5000", "total": "?"}
    assert result.out.splitlines()[-1] == "no price for my-own-model: set MODEL_PRICES"

    priced = run_cli("usage", "--by", "thread", "--since", TWO_DAYS_AGO,
                     env={**env, "MODEL_PRICES": '{"my-own-model": [1, 2, 0.1, 1.25]}'})
    rows = {line.split("|")[0].strip(): line.split("|")[-1].strip()
            for line in priced.out.splitlines()[3:] if "|" in line}
    assert rows["T1:C_TWO:3.000100"] == "2.0000"
    assert rows["total"] == "10.1000"


def test_usage_refuses_a_since_it_cannot_read(env: dict[str, str], run_cli: RunCli) -> None:
    result = run_cli("usage", "--since", "last week", env=env)

    assert result.code == 2
    assert "is not Nd or a past YYYY-MM-DD" in result.out
    assert run_cli("usage", "--since", "2999-01-01", env=env).code == 2
