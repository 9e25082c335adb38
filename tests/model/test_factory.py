"""build_chat_model: the right class per provider, settings passed through, clear config errors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_aws import ChatBedrockConverse
from langchain_openai import ChatOpenAI

from bot.config import DEFAULT_BEDROCK_MODEL_ID, ConfigError, Settings, load_settings
from bot.model.factory import build_chat_model
from bot.model.local_llama import LocalLlamaChatModel
from tests.fakes.bedrock import FakeBedrock

MakeSettings = Callable[..., Settings]


def test_bedrock_is_converse_with_a_tuned_shared_client(make_settings: MakeSettings) -> None:
    model = build_chat_model(make_settings(
        aws_region="eu-west-1",
        bedrock_endpoint_url="http://127.0.0.1:9",
        model_temperature=0.2,
        model_max_tokens=1000,
        model_top_k=40,
        model_timeout_seconds=30,
        model_max_attempts=3,
    ))

    assert isinstance(model, ChatBedrockConverse)
    assert model.model_id == DEFAULT_BEDROCK_MODEL_ID
    assert (model.temperature, model.max_tokens) == (0.2, 1000)
    assert model.additional_model_request_fields == {"top_k": 40}
    assert model.disable_streaming is False
    client = model.client
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert client.meta.region_name == "eu-west-1"
    config = client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert config.read_timeout == 30
    assert config.connect_timeout <= 10
    assert config.max_pool_connections == 128  # WORKER_THREADS: one per listener thread


def test_the_connection_pools_follow_worker_threads(make_settings: MakeSettings) -> None:
    model = build_chat_model(make_settings(worker_threads=7))
    assert model.client.meta.config.max_pool_connections == 7


def test_bedrock_leaves_top_k_out_unless_set(make_settings: MakeSettings) -> None:
    model = build_chat_model(make_settings(model_id="anthropic.claude-3-haiku-20240307-v1:0"))

    assert isinstance(model, ChatBedrockConverse)
    assert model.model_id == "anthropic.claude-3-haiku-20240307-v1:0"
    assert not model.additional_model_request_fields


def test_bedrock_sends_the_settings_on_the_wire(
    make_settings: MakeSettings, fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.reply = "Hello from Bedrock"
    model = build_chat_model(make_settings(
        bedrock_endpoint_url=fake_bedrock.url, model_temperature=0.3, model_max_tokens=321,
        model_top_k=7,
    ))

    text = "".join(chunk.text for chunk in model.stream([("system", "Be kind."), ("human", "Hi")]))

    assert text == "Hello from Bedrock"
    request = fake_bedrock.last_request
    assert request.streaming
    assert request.model_id == DEFAULT_BEDROCK_MODEL_ID
    assert request.body["system"] == [{"text": "Be kind."}]
    assert request.body["messages"] == [{"role": "user", "content": [{"text": "Hi"}]}]
    assert request.body["inferenceConfig"] == {"maxTokens": 321, "temperature": 0.3}
    assert request.body["additionalModelRequestFields"] == {"top_k": 7}


def test_anthropic_gets_key_url_and_sampling(make_settings: MakeSettings) -> None:
    model = build_chat_model(make_settings(
        model_provider="anthropic",
        anthropic_api_key="sk-ant-test",
        anthropic_base_url="http://127.0.0.1:9",
        model_temperature=0.7,
        model_max_tokens=2000,
        model_top_k=10,
        model_timeout_seconds=45,
        model_max_attempts=4,
    ))

    assert isinstance(model, ChatAnthropic)
    assert model.model == "claude-sonnet-4-6"
    assert model.anthropic_api_key.get_secret_value() == "sk-ant-test"
    assert model.anthropic_api_url == "http://127.0.0.1:9"
    assert (model.temperature, model.max_tokens, model.top_k) == (0.7, 2000, 10)
    assert model.default_request_timeout == 45
    assert model.max_retries == 3


def test_openai_compatible_server_gets_fields_local_servers_read(
    make_settings: MakeSettings,
) -> None:
    model = build_chat_model(make_settings(
        model_provider="openai",
        openai_base_url="http://localhost:11434/v1",
        model_id="llama3.2",
        model_max_tokens=500,
        model_top_k=20,
    ))

    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "llama3.2"
    assert model.openai_api_base == "http://localhost:11434/v1"
    assert model.openai_api_key is not None
    assert model.openai_api_key.get_secret_value() == "not-needed"
    assert model.use_responses_api is False
    assert model.extra_body == {"max_tokens": 500, "top_k": 20}


def test_openai_itself_gets_only_openai_fields(make_settings: MakeSettings) -> None:
    model = build_chat_model(make_settings(
        model_provider="openai",
        openai_base_url="https://api.openai.com/v1",
        openai_api_key="sk-test",
        model_max_tokens=500,
        model_top_k=20,
    ))

    assert isinstance(model, ChatOpenAI)
    assert model.max_tokens == 500
    assert not model.extra_body
    assert model.openai_api_key is not None
    assert model.openai_api_key.get_secret_value() == "sk-test"


def test_local_model_is_built_without_loading_it(make_settings: MakeSettings) -> None:
    model = build_chat_model(make_settings(
        model_provider="local", model_max_tokens=64, model_temperature=0.1
    ))

    assert isinstance(model, LocalLlamaChatModel)
    assert model.model_path.name.endswith(".gguf") and model.model_path.is_file()
    assert (model.max_tokens, model.temperature) == (64, 0.1)
    assert not model.is_loaded


def test_local_model_path_is_used_when_set(make_settings: MakeSettings, tmp_path: Path) -> None:
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")

    model = build_chat_model(make_settings(model_provider="local", local_model_path=gguf))

    assert isinstance(model, LocalLlamaChatModel)
    assert model.model_path == gguf


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"model_provider": "anthropic"}, "ANTHROPIC_API_KEY"),
        ({"model_provider": "openai"}, "OPENAI_BASE_URL"),
        ({"model_provider": "local", "local_model_path": Path("/no/such/model.gguf")},
         "LOCAL_MODEL_PATH"),
    ],
)
def test_missing_settings_are_named(
    make_settings: MakeSettings, values: dict[str, object], variable: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        build_chat_model(make_settings(**values))

    message = str(raised.value)
    assert message.startswith(variable)
    assert "\n" not in message


def test_unknown_provider_is_a_config_error(make_settings: MakeSettings) -> None:
    settings = make_settings().model_copy(update={"model_provider": "palm"})

    with pytest.raises(ConfigError, match="MODEL_PROVIDER is not one of bedrock, anthropic"):
        build_chat_model(settings)
    with pytest.raises(ConfigError, match="MODEL_PROVIDER"):
        load_settings(model_provider="palm", _env_file=None)


@pytest.mark.parametrize(
    ("provider", "module", "extra", "values"),
    [
        ("anthropic", "langchain_anthropic", "anthropic", {"anthropic_api_key": "k"}),
        ("openai", "langchain_openai", "openai", {"openai_base_url": "http://localhost:1/v1"}),
        ("local", "llama_cpp", "local", {}),
    ],
)
def test_missing_provider_package_names_the_extra(
    make_settings: MakeSettings,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    module: str,
    extra: str,
    values: dict[str, str],
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # what Python does for an absent package

    with pytest.raises(ConfigError, match=rf"pip install '\.\[{extra}\]'"):
        build_chat_model(make_settings(model_provider=provider, **values))
