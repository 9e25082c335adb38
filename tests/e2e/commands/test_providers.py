"""Every provider through the console against its wire-level fake, and the choice of provider
on a machine without accounts: the offline model, said in one line."""

from __future__ import annotations

from tests.e2e.commands.conftest import RunBot
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.openai_api import FakeOpenAI

FALLBACK = (
    "Using the offline model smollm2-135m-instruct (MODEL_PROVIDER=local): no AWS credentials "
    "were found for Bedrock; set MODEL_PROVIDER to choose a provider."
)


def test_anthropic_answers_with_the_thread_history(
    run_bot: RunBot, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.reply = lambda body: f"turn {len(body['messages'])}"

    run = run_bot(
        ["My name is Lee.", "Do you remember my name?"],
        MODEL_PROVIDER="anthropic", ANTHROPIC_API_KEY="sk-ant-test",
        ANTHROPIC_BASE_URL=fake_anthropic.url, MODEL_MAX_TOKENS="64",
    )

    assert run.returncode == 0, run.stderr
    assert run.lines == ["turn 1", "turn 3"]
    sent = fake_anthropic.last_request
    assert "sk-ant-test" in sent.headers.get("x-api-key", sent.headers.get("authorization", ""))
    assert sent.body["stream"] is True and sent.body["max_tokens"] == 64
    assert [m["role"] for m in sent.messages] == ["user", "assistant", "user"]
    assert "My name is Lee." in str(sent.messages[0]["content"])
    assert "model claude-sonnet-4-6 (anthropic)" in run.stderr


def test_openai_compatible_server_answers_with_the_thread_history(
    run_bot: RunBot, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply = lambda body: f"turn {len(body['messages'])}"

    run = run_bot(
        ["My name is Lee.", "Do you remember my name?"],
        MODEL_PROVIDER="openai", OPENAI_BASE_URL=fake_openai.url, MODEL_ID="llama3.2",
    )

    assert run.returncode == 0, run.stderr
    # The system prompt is a message of its own in Chat Completions.
    assert run.lines == ["turn 2", "turn 4"]
    sent = fake_openai.last_request
    assert sent.body["model"] == "llama3.2" and sent.body["stream"] is True
    assert [m["role"] for m in sent.messages] == ["system", "user", "assistant", "user"]
    assert sent.messages[1]["content"] == "My name is Lee."


def test_no_provider_and_no_aws_credentials_fall_back_to_the_offline_model(
    run_bot: RunBot,
) -> None:
    run = run_bot(["/quit"])

    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines().count(FALLBACK) == 1
    assert "model smollm2-135m-instruct (local)" in run.stderr


def test_aws_credentials_keep_the_default_provider(run_bot: RunBot) -> None:
    run = run_bot(["/quit"], AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret")

    assert run.returncode == 0, run.stderr
    assert "offline model" not in run.stderr
    assert "model us.anthropic.claude-sonnet-4-6 (bedrock)" in run.stderr


def test_an_explicit_provider_without_credentials_is_a_configuration_error(
    run_bot: RunBot,
) -> None:
    bedrock = run_bot(["Hello"], MODEL_PROVIDER="bedrock")
    anthropic = run_bot(["Hello"], MODEL_PROVIDER="anthropic")
    openai = run_bot(["Hello"], MODEL_PROVIDER="openai")

    assert (bedrock.returncode, anthropic.returncode, openai.returncode) == (2, 2, 2)
    assert bedrock.stderr.strip() == (
        "configuration error: MODEL_PROVIDER=bedrock but no AWS credentials were found for "
        "Bedrock: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or unset "
        "MODEL_PROVIDER to use the offline model"
    )
    assert anthropic.stderr.startswith("configuration error: ANTHROPIC_API_KEY is not set")
    assert openai.stderr.startswith("configuration error: OPENAI_BASE_URL is not set")
    assert bedrock.stdout == anthropic.stdout == openai.stdout == ""
