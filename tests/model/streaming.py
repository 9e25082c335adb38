"""Helpers for reading a model's stream the way the bot does."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel


def stream_until_error(model: BaseChatModel, prompt: str) -> tuple[list[str], BaseException]:
    """The non-empty pieces shown before the stream failed, and the error it failed with."""
    shown: list[str] = []
    try:
        for chunk in model.stream(prompt):
            if chunk.text:
                shown.append(chunk.text)
    except Exception as error:  # the SDKs' own error types: what the core will catch
        return shown, error
    raise AssertionError(f"the stream ended without an error after {shown!r}")
