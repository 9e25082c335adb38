"""`doctor` checks the configured Bedrock guardrail exists (GetGuardrail against the fake
Bedrock's control plane); guardrail settings that cannot work stop start-up in one line."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings
from tests.e2e.commands.conftest import RunBot
from tests.e2e.commands.test_doctor import doctor_env as doctor_env
from tests.e2e.commands.test_doctor import fixes, rows
from tests.fakes.bedrock import FakeBedrock


def test_an_existing_guardrail_passes(run_bot: RunBot, doctor_env, fake_bedrock: FakeBedrock):
    fake_bedrock.add_guardrail("gr0abc123", "3")
    run = run_bot([], "doctor", **doctor_env, GUARDRAIL_ID="gr0abc123", GUARDRAIL_VERSION="3")
    assert run.returncode == 0, run.stdout + run.stderr
    assert rows(run.stdout)["Guardrail"] == (
        "OK", "guardrail gr0abc123 version 3: ready; streaming sync, trace disabled")
    # The probe (Converse, not streamed) carried the guardrail too, without a stream mode.
    assert fake_bedrock.last_request.body["guardrailConfig"] == {
        "guardrailIdentifier": "gr0abc123", "guardrailVersion": "3", "trace": "disabled"}


@pytest.mark.parametrize(("version", "status", "expected"), [
    ("4", "READY", "guardrail gr0abc123 version 4 in us-east-1 does not exist"),
    ("3", "VERSIONING", "guardrail gr0abc123 version 3 in us-east-1 is VERSIONING"),
])
def test_a_missing_or_unready_guardrail_is_a_problem(run_bot: RunBot, doctor_env,
                                                     fake_bedrock: FakeBedrock, version,
                                                     status, expected):
    fake_bedrock.add_guardrail("gr0abc123", "3", status=status)
    run = run_bot([], "doctor", "--no-model-request", **doctor_env, GUARDRAIL_ID="gr0abc123",
                  GUARDRAIL_VERSION=version)
    assert run.returncode == 1
    assert rows(run.stdout)["Guardrail"] == ("PROBLEM", expected)
    assert fixes(run.stdout)


def test_no_guardrail_no_check(run_bot: RunBot, doctor_env):
    run = run_bot([], "doctor", "--no-model-request", **doctor_env)
    assert "Guardrail" not in rows(run.stdout)


@pytest.mark.parametrize(("values", "expected"), [
    ({"guardrail_id": "gr1"}, "GUARDRAIL_VERSION is not set"),
    ({"guardrail_version": "1"}, "GUARDRAIL_ID is not set"),
    ({"guardrail_id": "gr1", "guardrail_version": "1", "model_provider": "anthropic"},
     "GUARDRAIL_ID works with MODEL_PROVIDER=bedrock only"),
])
def test_guardrail_settings_that_cannot_work_are_refused(values, expected):
    with pytest.raises(ConfigError, match=expected):
        Settings(_env_file=None, **values)


def test_guardrail_trace_takes_true_and_false():
    assert Settings(_env_file=None, guardrail_trace="true").guardrail_trace == "enabled"
    assert Settings(_env_file=None, guardrail_trace="false").guardrail_trace == "disabled"
