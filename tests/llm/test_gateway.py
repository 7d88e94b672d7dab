"""The LLM gateway, driven through the real SDK against the fake Messages API on loopback."""

import json
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
from anthropic._data import DEPRECATED_MODELS
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from clone_server import llm
from clone_server.llm import gateway
from tests.fakes.anthropic import (
    drop_connection,
    error_reply,
    refusal_reply,
    slow_reply,
    text_reply,
    tool_reply,
)
from tests.helpers import assert_api_error

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["title", "score"],
    "additionalProperties": False,
}
GOOD = {"title": "Ran the tests", "score": 0.75}
USER_TURN = [{"role": "user", "content": "Summarize what I did."}]

# Gunicorn runs with --timeout 120; a structured call must finish well inside it.
GUNICORN_TIMEOUT_S = 120


def ask(**overrides):
    kwargs = {
        "system": "You summarize.",
        "messages": USER_TURN,
        "schema": SCHEMA,
        "tool_name": "summarize",
        **overrides,
    }
    return llm.structured_call(**kwargs)


@pytest.fixture
def fake(fake_anthropic):
    """The fake Messages API, answering GOOD unless a test says otherwise."""
    fake_anthropic.respond_with(lambda request: tool_reply(GOOD))
    return fake_anthropic


@pytest.fixture
def fast_retries(settings):
    """One SDK retry with a tiny wait, so error paths stay quick while still retrying."""
    settings.CLONE_LLM_MAX_RETRIES = 1
    settings.CLONE_LLM_MAX_RETRY_WAIT_S = 0.05
    return settings


# --- Success and structured output --------------------------------------------------------------


def test_valid_answer_returns_data_model_usage_and_latency(fake):
    usage = {"input_tokens": 321, "output_tokens": 45, "cache_read_input_tokens": 7}
    fake.queue(tool_reply(GOOD, usage=usage))

    result = ask(tool_description="Summarize the episode.")

    assert result.data == GOOD
    assert result.model == "claude-sonnet-4-6"
    assert result.usage == llm.Usage(
        input_tokens=321, output_tokens=45, cache_creation_input_tokens=0, cache_read_input_tokens=7
    )
    assert result.latency_ms >= 0
    assert fake.calls == 1


def test_request_forces_the_tool_with_the_schema_and_sends_the_key(fake, settings):
    settings.CLONE_LLM_MAX_TOKENS = 777
    fake.queue(tool_reply(GOOD))

    ask(tool_description="Summarize the episode.")

    sent = fake.requests[0]
    assert sent["tools"] == [
        {"name": "summarize", "description": "Summarize the episode.", "input_schema": SCHEMA}
    ]
    assert sent["tool_choice"] == {"type": "tool", "name": "summarize"}
    assert sent["messages"] == USER_TURN
    assert sent["max_tokens"] == 777
    assert sent["model"] == "claude-sonnet-4-6"
    assert sent["system"] == [{"type": "text", "text": "You summarize."}]
    assert "sk-test" in (sent.headers.get("x-api-key", "") + sent.headers.get("authorization", ""))


def test_explicit_model_and_max_tokens_are_sent(fake):
    fake.queue(tool_reply(GOOD))

    result = ask(model="claude-haiku-4-5", max_tokens=64)

    assert result.model == "claude-haiku-4-5"
    assert fake.requests[0]["model"] == "claude-haiku-4-5"
    assert fake.requests[0]["max_tokens"] == 64


def test_schema_invalid_answer_is_retried_once_then_succeeds_with_summed_usage(fake):
    fake.queue(
        tool_reply({"title": "", "score": 3}, usage={"input_tokens": 100, "output_tokens": 10}),
        tool_reply(GOOD, usage={"input_tokens": 120, "output_tokens": 12}),
    )

    result = ask()

    assert result.data == GOOD
    assert fake.calls == 2
    assert result.usage.input_tokens == 220
    assert result.usage.output_tokens == 22


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(tool_reply({"title": "x"}), id="missing-required-field"),
        pytest.param(tool_reply({"title": "x", "score": "high"}), id="wrong-type"),
        pytest.param(tool_reply({"title": "x", "score": 0.5, "extra": 1}), id="extra-field"),
        pytest.param(refusal_reply(), id="refusal"),
        pytest.param(text_reply("Here is a summary."), id="text-without-tool-call"),
        pytest.param(tool_reply(GOOD, stop_reason="refusal"), id="refusal-stop-reason"),
    ],
)
def test_bad_answer_twice_fails_as_llm_bad_output(fake, bad):
    fake.respond_with(lambda request: bad)

    with pytest.raises(llm.LLMBadOutput) as caught:
        ask()

    assert caught.value.code == "llm_bad_output"
    assert caught.value.status_code == 502
    assert caught.value.details
    assert caught.value.usage.input_tokens == 200  # both attempts are accounted for
    assert fake.calls == 2


def test_bad_output_details_name_the_failing_field(fake):
    fake.respond_with(lambda request: tool_reply({"title": "x", "score": 9}))

    with pytest.raises(llm.LLMBadOutput) as caught:
        ask()

    assert caught.value.details == [
        {"field": "$.score", "message": "9 is greater than the maximum of 1", "code": "schema"}
    ]


def test_refusal_then_valid_answer_succeeds(fake):
    fake.queue(refusal_reply(), tool_reply(GOOD))

    assert ask().data == GOOD
    assert fake.calls == 2


def test_responder_may_return_the_tool_input_directly(fake):
    fake.respond_with(lambda request: {**GOOD, "title": request["model"]})

    assert ask().data == {"title": "claude-sonnet-4-6", "score": 0.75}


# --- Prompt caching -----------------------------------------------------------------------------


def test_cache_system_marks_the_system_block(fake):
    ask(cache_system=True)

    assert fake.requests[0]["system"] == [
        {"type": "text", "text": "You summarize.", "cache_control": {"type": "ephemeral"}}
    ]


def test_cached_context_is_a_marked_system_block_after_the_prompt(fake):
    context = "Profile: likes pytest. " * 200
    ask(cached_context=context)
    ask(cached_context=context, messages=[{"role": "user", "content": "Another question."}])

    first, second = fake.requests
    assert first["system"] == [
        {"type": "text", "text": "You summarize."},
        {"type": "text", "text": context, "cache_control": {"type": "ephemeral"}},
    ]
    # The cached prefix (tools, system) is byte-identical across the calls that share it.
    assert first["tools"] == second["tools"]
    assert first["system"] == second["system"]


def test_no_cache_control_unless_asked(fake):
    ask()

    assert "cache_control" not in json.dumps(fake.requests[0])


def test_empty_system_prompt_is_not_sent_as_an_empty_block(fake):
    ask(system="")

    assert "system" not in fake.requests[0]


# --- Provider errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        pytest.param(401, "authentication_error", id="401"),
        pytest.param(403, "permission_error", id="403"),
    ],
)
def test_provider_auth_failure_is_llm_auth_failed_without_retries(fake, status, error_type):
    fake.respond_with(lambda request: error_reply(status, error_type=error_type))

    with pytest.raises(llm.LLMAuthFailed) as caught:
        ask()

    assert caught.value.code == "llm_auth_failed"
    assert caught.value.status_code == 502
    assert caught.value.details["provider_status"] == status
    assert fake.calls == 1


def test_429_asking_for_a_long_wait_is_raised_at_once_with_that_retry_after(fake):
    fake.respond_with(
        lambda request: error_reply(
            429, error_type="rate_limit_error", headers={"retry-after": "30"}
        )
    )

    started = time.monotonic()
    with pytest.raises(llm.LLMRateLimited) as caught:
        ask()
    elapsed = time.monotonic() - started

    assert caught.value.code == "llm_rate_limited"
    assert caught.value.status_code == 503
    assert caught.value.headers == {"Retry-After": "30"}
    assert caught.value.retry_after == 30
    assert fake.calls == 1  # the SDK did not retry it
    assert elapsed < 2  # ...nor sleep: 30 s were not waited out


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"retry-after": "7.2"}, "8", id="fractional-seconds-round-up"),
        pytest.param({"retry-after-ms": "12500"}, "13", id="retry-after-ms"),
        pytest.param({"retry-after": "Thu, 01 Jan 2099 00:00:00 GMT"}, None, id="http-date"),
    ],
)
def test_429_retry_after_forms_are_honoured(fake, headers, expected):
    fake.respond_with(
        lambda request: error_reply(429, error_type="rate_limit_error", headers=headers)
    )

    with pytest.raises(llm.LLMRateLimited) as caught:
        ask()

    retry_after = int(caught.value.headers["Retry-After"])
    if expected is None:
        assert retry_after > 10**9 / 2  # far in the future, in seconds
    else:
        assert str(retry_after) == expected
    assert fake.calls == 1


def test_429_without_retry_after_is_retried_then_says_10(fake, fast_retries):
    fake.respond_with(lambda request: error_reply(429, error_type="rate_limit_error"))

    with pytest.raises(llm.LLMRateLimited) as caught:
        ask()

    assert caught.value.headers == {"Retry-After": "10"}
    assert fake.calls == 2  # the first try and one SDK retry


def test_429_asking_for_a_short_wait_is_waited_out_and_retried(fake, settings):
    settings.CLONE_LLM_MAX_RETRY_WAIT_S = 1.0
    fake.queue(
        error_reply(429, error_type="rate_limit_error", headers={"retry-after": "0.2"}),
        tool_reply(GOOD),
    )

    started = time.monotonic()
    result = ask()

    assert result.data == GOOD
    assert fake.calls == 2
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize(
    "status",
    [
        pytest.param(500, id="500"),
        pytest.param(502, id="502"),
        pytest.param(503, id="503"),
        pytest.param(529, id="529-overloaded"),
    ],
)
def test_provider_server_error_is_llm_unavailable_after_the_sdk_retries(fake, fast_retries, status):
    fake.respond_with(lambda request: error_reply(status, error_type="overloaded_error"))

    with pytest.raises(llm.LLMUnavailable) as caught:
        ask()

    assert caught.value.code == "llm_unavailable"
    assert caught.value.status_code == 502
    assert caught.value.details["provider_status"] == status
    assert fake.calls == 2


def test_server_error_then_success_is_recovered_by_the_sdk_retry(fake, fast_retries):
    fake.queue(error_reply(529, error_type="overloaded_error"), tool_reply(GOOD))

    assert ask().data == GOOD
    assert fake.calls == 2


def test_server_error_asking_for_a_long_wait_is_not_waited_out(fake):
    fake.respond_with(lambda request: error_reply(503, headers={"retry-after": "60"}))

    started = time.monotonic()
    with pytest.raises(llm.LLMUnavailable):
        ask()

    assert fake.calls == 1
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        pytest.param(400, "invalid_request_error", id="400"),
        pytest.param(404, "not_found_error", id="404"),
        pytest.param(413, "request_too_large", id="413"),
        pytest.param(422, "invalid_request_error", id="422"),
    ],
)
def test_other_provider_4xx_is_llm_unavailable_without_retries(fake, status, error_type):
    fake.respond_with(lambda request: error_reply(status, error_type=error_type))

    with pytest.raises(llm.LLMUnavailable) as caught:
        ask()

    assert caught.value.details["provider_status"] == status
    assert caught.value.details["provider_error_type"] == error_type
    assert fake.calls == 1


def test_slow_provider_is_llm_timeout(fake, settings):
    settings.CLONE_LLM_TIMEOUT_S = 0.2
    settings.CLONE_LLM_MAX_RETRIES = 0
    fake.respond_with(lambda request: slow_reply(3))

    started = time.monotonic()
    with pytest.raises(llm.LLMTimeout) as caught:
        ask()

    assert caught.value.code == "llm_timeout"
    assert caught.value.status_code == 504
    assert time.monotonic() - started < 1.5


def test_timeout_is_retried_by_the_sdk_then_reported(fake, settings, fast_retries):
    settings.CLONE_LLM_TIMEOUT_S = 0.2
    fake.respond_with(lambda request: slow_reply(3))

    with pytest.raises(llm.LLMTimeout):
        ask()

    assert fake.calls == 2


def test_dropped_connection_is_llm_unavailable(fake, fast_retries):
    fake.respond_with(lambda request: drop_connection())

    with pytest.raises(llm.LLMUnavailable) as caught:
        ask()

    assert caught.value.details == {"reason": "connection_failed"}
    assert fake.calls == 2


def test_nothing_listening_is_llm_unavailable(settings, fast_retries):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.ANTHROPIC_BASE_URL = f"http://127.0.0.1:{port}"
    settings.ANTHROPIC_API_KEY = "sk-test"

    with pytest.raises(llm.LLMUnavailable):
        ask()


def test_missing_key_is_llm_not_configured_before_any_request(fake, settings):
    settings.ANTHROPIC_API_KEY = ""

    with pytest.raises(llm.LLMNotConfigured) as caught:
        ask()

    assert caught.value.code == "llm_not_configured"
    assert caught.value.status_code == 503
    assert fake.calls == 0


def test_unsupported_model_is_rejected_before_any_request(fake):
    with pytest.raises(llm.UnsupportedModel) as caught:
        ask(model="gpt-4o")

    assert caught.value.code == "unsupported_model"
    assert caught.value.status_code == 400
    assert caught.value.details["supported_models"] == llm.supported_models()
    assert fake.calls == 0


# --- Time budget --------------------------------------------------------------------------------


def test_default_worst_case_stays_below_the_gunicorn_timeout():
    # 3 attempts x 30 s + 2 waits x 5 s = 100 s.
    assert llm.call_budget_s() == 100
    assert llm.call_budget_s() < GUNICORN_TIMEOUT_S


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [
        pytest.param(100, (30, 2), id="full-budget-all-retries"),
        pytest.param(99.95, (30, 2), id="setup-time-costs-no-retry"),
        pytest.param(70, (30, 1), id="room-for-one-retry"),
        pytest.param(64, (30, 0), id="no-room-for-a-retry"),
        pytest.param(12, (12, 0), id="less-than-one-timeout-left"),
    ],
)
def test_attempt_plan_fits_the_remaining_budget(remaining, expected):
    assert gateway._attempt_plan(remaining) == expected


def test_past_deadline_is_llm_timeout_without_a_request(fake):
    with pytest.raises(llm.LLMTimeout):
        ask(deadline=time.monotonic() - 1)

    assert fake.calls == 0


def test_shared_deadline_shortens_the_attempt(fake):
    fake.respond_with(lambda request: slow_reply(3))

    started = time.monotonic()
    with pytest.raises(llm.LLMTimeout):
        ask(deadline=time.monotonic() + 0.3)

    assert time.monotonic() - started < 1.5
    assert fake.calls == 1


# --- Models, provider, client -------------------------------------------------------------------


def test_default_model_is_supported_and_not_deprecated():
    assert llm.default_model() in llm.supported_models()
    assert llm.default_model() not in DEPRECATED_MODELS


def test_no_supported_model_is_deprecated():
    assert not set(llm.supported_models()) & set(DEPRECATED_MODELS)


@pytest.mark.parametrize("model", [None, ""], ids=["none", "empty"])
def test_resolve_model_without_a_name_gives_the_default(model):
    assert llm.resolve_model(model) == llm.default_model()


def test_allow_list_is_read_from_settings_at_call_time(settings):
    settings.CLONE_LLM_SUPPORTED_MODELS = ["claude-haiku-4-5"]

    assert llm.resolve_model("claude-haiku-4-5") == "claude-haiku-4-5"
    with pytest.raises(llm.UnsupportedModel):
        llm.resolve_model("claude-sonnet-4-6")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("anthropic", "anthropic"), ("local", "local"), (" Local ", "local")],
    ids=["anthropic", "local", "case-and-space"],
)
def test_active_provider_reads_settings(settings, value, expected):
    settings.CLONE_LLM_PROVIDER = value

    assert llm.active_provider() == expected


def test_unknown_provider_is_a_configuration_error(settings):
    settings.CLONE_LLM_PROVIDER = "openai"

    with pytest.raises(ImproperlyConfigured):
        llm.active_provider()


def test_one_client_per_configuration_even_when_threads_race(fake, settings):
    barrier = threading.Barrier(16)

    def get():
        barrier.wait()
        return gateway._client(max_retries=2)

    with ThreadPoolExecutor(max_workers=16) as pool:
        clients = list(pool.map(lambda _: get(), range(16)))

    assert len({id(c) for c in clients}) == 1
    client = clients[0]
    assert client.api_key == "sk-test"
    assert str(client.base_url).rstrip("/") == fake.base_url
    assert client.max_retries == 2
    settings.ANTHROPIC_API_KEY = "sk-other"
    assert gateway._client(max_retries=2) is not client


def test_concurrent_calls_from_16_threads_all_succeed_in_parallel(fake):
    fake.respond_with(lambda request: slow_reply(0.3, then=tool_reply(GOOD)))

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: ask(), range(16)))
    elapsed = time.monotonic() - started

    assert [r.data for r in results] == [GOOD] * 16
    assert fake.calls == 16
    assert elapsed < 16 * 0.3 / 2  # overlapped, not one after another


def test_usage_adds_up_and_serializes():
    total = llm.Usage(input_tokens=1, output_tokens=2) + llm.Usage(
        input_tokens=10, cache_creation_input_tokens=3, cache_read_input_tokens=4
    )

    assert total.as_dict() == {
        "input_tokens": 11,
        "output_tokens": 2,
        "cache_creation_input_tokens": 3,
        "cache_read_input_tokens": 4,
    }


# --- The error shape ----------------------------------------------------------------------------


class _Raises(APIView):
    authentication_classes = []
    permission_classes = []
    exc: Exception | None = None

    def get(self, request):
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "status", "code", "retry_after"),
    [
        pytest.param(llm.LLMNotConfigured(), 503, "llm_not_configured", None, id="not-configured"),
        pytest.param(llm.LLMAuthFailed(), 502, "llm_auth_failed", None, id="auth-failed"),
        pytest.param(llm.LLMRateLimited(retry_after=30), 503, "llm_rate_limited", "30", id="429"),
        pytest.param(llm.LLMRateLimited(), 503, "llm_rate_limited", "10", id="429-default"),
        pytest.param(llm.LLMTimeout(), 504, "llm_timeout", None, id="timeout"),
        pytest.param(llm.LLMUnavailable(), 502, "llm_unavailable", None, id="unavailable"),
        pytest.param(llm.LLMBadOutput(), 502, "llm_bad_output", None, id="bad-output"),
        pytest.param(
            llm.UnsupportedModel(details={"supported_models": ["m"]}),
            400,
            "unsupported_model",
            None,
            id="unsupported-model",
        ),
    ],
)
def test_each_error_renders_in_the_error_shape(exc, status, code, retry_after):
    view = _Raises.as_view(exc=exc)

    response = view(APIRequestFactory().get("/"))
    response.render()

    error = assert_api_error(response, status, code)
    assert error["message"]
    assert response.headers.get("Retry-After") == retry_after


# --- The standalone fake ------------------------------------------------------------------------


def test_standalone_fake_answers_with_the_reply_file_after_the_delay(tmp_path: Path, settings):
    reply_file = tmp_path / "reply.json"
    reply_file.write_text(json.dumps(GOOD))
    command = [sys.executable, "-m", "tests.fakes.anthropic", "--port", "0", "--delay-ms", "200"]
    command += ["--reply-file", str(reply_file), "--input-tokens", "5", "--output-tokens", "6"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        line = process.stdout.readline()
        settings.ANTHROPIC_BASE_URL = line.rsplit(" ", 1)[1].strip()
        settings.ANTHROPIC_API_KEY = "sk-test"

        started = time.monotonic()
        result = ask()

        assert result.data == GOOD
        assert result.usage.input_tokens == 5
        assert result.usage.output_tokens == 6
        assert time.monotonic() - started >= 0.2
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_fake_rejects_requests_without_a_key(fake):
    response = httpx2.post(f"{fake.base_url}/v1/messages", json={"model": "m"})

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
