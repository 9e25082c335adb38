"""The bundled offline model (SmolLM2-135M through llama.cpp) answering in a console thread on a
machine with no account of any kind: no Slack tokens, no AWS credentials, no MODEL_PROVIDER.

The small model's wording is not asserted; what it was sent is, through the prompt the core logs
at DEBUG level when LOG_MESSAGE_CONTENT=true.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.commands.conftest import RunBot

PROMPT_LOG = "DEBUG bot.core.conversation: prompt for "


def logged_prompts(stderr: str) -> list[list[dict[str, str]]]:
    prompts = []
    for line in stderr.splitlines():
        if PROMPT_LOG in line:
            _, _, sent = line.partition(PROMPT_LOG)
            prompts.append(json.loads(sent.split(": ", 1)[1]))
    return prompts


@pytest.mark.slow
def test_the_offline_model_is_sent_the_thread_history(run_bot: RunBot) -> None:
    run = run_bot(
        ["My name is Lee.", "Do you remember my name?", "/history"],
        "run",
        MODEL_MAX_TOKENS="24", MODEL_TEMPERATURE="0",
        LOG_LEVEL="DEBUG", LOG_MESSAGE_CONTENT="true",
    )

    assert run.returncode == 0, run.stderr
    assert "Using the offline model smollm2-135m-instruct (MODEL_PROVIDER=local)" in run.stderr
    first, second = logged_prompts(run.stderr)
    assert [turn["role"] for turn in first] == ["system", "human"]
    assert [turn["role"] for turn in second] == ["system", "human", "ai", "human"]
    assert second[1]["text"] == "My name is Lee."
    assert second[3]["text"] == "Do you remember my name?"
    history = [line for line in run.lines if line.startswith(("you: ", "bot: "))]
    assert history[0] == "you: My name is Lee."
    assert [line[:4] for line in history] == ["you:", "bot:", "you:", "bot:"]
    assert second[2]["text"] == history[1].removeprefix("bot: ")  # the answer it gave, stored
    assert history[1].removeprefix("bot: ").strip()
