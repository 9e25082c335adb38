"""A cold ack loads only what acknowledging needs; SnapStart init loads the rest; the hand-made
SigV4 signatures are the ones AWS (here: botocore's signer, in the fakes) expects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bot.lambda_aws import AwsCallFailed, LightAwsClient, sigv4_headers
from bot.lambda_env import AwsCredentials, LambdaEnvironment
from tests.e2e.aws_lambda.lambda_events import FUNCTION_ARN, FUNCTION_NAME, function_url_event
from tests.fakes.signing import app_mention, event_callback

REPO_ROOT = Path(__file__).resolve().parents[3]
HEAVY = {"slack_bolt", "slack_sdk", "langchain_core", "langchain_aws", "boto3", "botocore",
         "pydantic", "pydantic_settings"}
# A fresh interpreter, as Lambda's runtime starts one: import the handler (init), maybe run
# one event, report which heavy packages got loaded.
CHILD = f"""
import json, sys
from bot import lambda_handler
loaded_at_init = sorted({{m.split(".")[0] for m in sys.modules}} & set({sorted(HEAVY)!r}))
event = json.loads(sys.stdin.read() or "null")
class Context:
    function_name, invoked_function_arn = {FUNCTION_NAME!r}, {FUNCTION_ARN!r}
status = lambda_handler.handler(event, Context())["statusCode"] if event else None
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({sorted(HEAVY)!r}))
print(json.dumps({{"init": loaded_at_init, "after": loaded, "status": status}}))
"""


def run_child(event: dict | None, **environment: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], input=json.dumps(event), capture_output=True, text=True,
        cwd=REPO_ROOT, env=os.environ | environment, timeout=120, check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.usefixtures("lambda_environment")
def test_a_cold_ack_loads_no_bolt_langchain_boto3_or_pydantic(fake_lambda, fake_slack):
    event = function_url_event(event_callback(app_mention(text="<@U_BOT> hi")))
    report = run_child(event)
    assert report == {"init": [], "after": [], "status": 200}
    assert len(fake_lambda.invocations) == 1
    assert fake_slack.calls == []


@pytest.mark.usefixtures("lambda_environment")
def test_snapstart_init_loads_the_lazy_path_but_calls_nothing(fake_slack, fake_secrets):
    report = run_child(None, AWS_LAMBDA_INITIALIZATION_TYPE="snap-start")
    assert {"slack_bolt", "langchain_aws", "boto3"} <= set(report["init"])
    assert fake_slack.calls == [] and fake_secrets.reads == []  # no auth.test, no secret


def test_the_signature_is_the_one_botocore_computes():
    credentials = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token/+=")
    url = ("https://lambda.eu-central-1.amazonaws.com/2015-03-31/functions/"
           "arn%3Aaws%3Alambda%3Aeu-central-1%3A123456789012%3Afunction%3Abot%3Alive/invocations")
    body = b'{"lazy_slack_request": {"body": "caf\\u00e9  spaced"}}'
    now = datetime(2026, 5, 1, 12, 30, 5, tzinfo=UTC)
    ours = sigv4_headers(method="POST", url=url, body=body, service="lambda", region="eu-central-1",
                         credentials=credentials, now=now,
                         headers={"X-Amz-Invocation-Type": "Event", "X-Custom": "  a   b "})

    request = AWSRequest(method="POST", url=url, data=body, headers={
        name: value for name, value in ours.items() if name != "authorization"})
    request.context["timestamp"] = ours["x-amz-date"]
    signer = SigV4Auth(Credentials(credentials.access_key_id, credentials.secret_access_key,
                                   credentials.session_token), "lambda", "eu-central-1")
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)),
                                request)
    assert ours["x-amz-date"] == "20260501T123005Z"
    assert ours["authorization"].endswith(f"Signature={expected}")
    assert "SignedHeaders=host;x-amz-date;x-amz-invocation-type;x-amz-security-token;x-custom" \
        in ours["authorization"]


def test_aws_refuses_a_wrong_key_and_the_client_says_which_call(fake_lambda):
    environment = LambdaEnvironment.read({"AWS_REGION": "us-east-1",
                                          "AWS_ENDPOINT_URL_LAMBDA": fake_lambda.base_url})
    client = LightAwsClient(environment, credentials=lambda: AwsCredentials("testing", "wrong"))
    with pytest.raises(AwsCallFailed, match="lambda Invoke failed: HTTP 403 'InvalidSignatureException'"):
        client.invoke_async(FUNCTION_ARN, b"{}")
    assert fake_lambda.invocations == []
