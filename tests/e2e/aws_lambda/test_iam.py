"""The function's IAM policy grants exactly the AWS calls bot/ makes on Lambda, derived from the
code itself, so neither an unused grant nor a missing one can slip in unnoticed.

Derived by reading the source (ast): the DynamoDB operations the store calls on its client, the
model calls of the conversation core (streamed: ConverseStream; not streamed: Converse), and
the two calls of bot/lambda_aws.py. Call sites that only the command line runs are listed
below with the reason; SAM adds sqs:SendMessage for the on-failure queue and the managed
AWSLambdaBasicExecutionRole (CloudWatch Logs) itself.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import botocore.session
import pytest
from botocore import xform_name
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "deploy" / "template.yaml"

# (module, function or "*") → why the Lambda function never runs it. A private helper called
# only from such functions is theirs too.
OPERATOR_ONLY = {
    ("bot/store/table.py", "*"): "`bot table create|check` and `bot doctor`",
    ("bot/store/legacy_import.py", "*"): "`bot history import-legacy` reads the seed's old table",
    ("bot/store/dynamodb.py", "sessions"): "listing sessions: the history CLI and the console",
    ("bot/store/dynamodb.py", "forget_author"): "`bot history forget --user` (a full Scan)",
}
# TransactWriteItems has no IAM action of its own: each item is authorized as its operation.
TRANSACTION_ITEMS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem"}
# Converse / ConverseStream are authorized as these (LangChain's stream → ConverseStream).
MODEL_CALLS = {"stream": "InvokeModelWithResponseStream", "astream": "InvokeModelWithResponseStream",
               "invoke": "InvokeModel", "ainvoke": "InvokeModel", "batch": "InvokeModel"}
NodeT = TypeVar("NodeT", bound=ast.AST)

# bot/lambda_aws.py's operations → IAM actions.
LIGHT_CLIENT_ACTIONS = {("lambda", "Invoke"): "lambda:InvokeFunction",
                        ("secretsmanager", "GetSecretValue"): "secretsmanager:GetSecretValue"}


def nodes_in(path: Path, kind: type[NodeT]) -> Iterator[tuple[str, NodeT]]:
    """(enclosing function name, node) for every node of `kind` in the module."""

    def walk(node: ast.AST, function: str) -> Iterator[tuple[str, NodeT]]:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if isinstance(child, kind):
                yield function, child
            yield from walk(child, name)

    yield from walk(ast.parse(path.read_text()), "")


def calls_in(path: Path) -> Iterator[tuple[str, ast.Call]]:
    return nodes_in(path, ast.Call)


def operator_only_functions(path: Path) -> set[str] | None:
    """The module's functions only the command line runs; None: all of them."""
    module = str(path.relative_to(ROOT))
    if (module, "*") in OPERATOR_ONLY:
        return None
    listed = {function for (name, function) in OPERATOR_ONLY if name == module}
    callers: dict[str, set[str]] = {}  # helper → the functions calling it as self.helper(...)
    for function, call in calls_in(path):
        if isinstance(call.func, ast.Attribute) and call.func.attr.startswith("_"):
            callers.setdefault(call.func.attr, set()).add(function)
    while True:
        more = {helper for helper, by in callers.items() if by and by <= listed} - listed
        if not more:
            return listed
        listed |= more


def test_every_operator_only_entry_names_code_that_exists():
    for module, function in OPERATOR_ONLY:
        source = (ROOT / module).read_text()
        assert function == "*" or f"def {function}(" in source, (module, function)


def dynamodb_actions() -> set[str]:
    operations = {xform_name(name): name for name in
                  botocore.session.get_session().get_service_model("dynamodb").operation_names}
    actions: set[str] = set()
    for path in sorted((ROOT / "bot" / "store").glob("*.py")):
        skipped = operator_only_functions(path)
        for function, call in calls_in(path):
            called = call.func.attr if isinstance(call.func, ast.Attribute) else None
            if called not in operations or skipped is None or function in skipped:
                continue
            receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
            if isinstance(receiver, ast.Name) and receiver.id == "batch":
                actions.add("BatchWriteItem")  # boto3's BatchWriter: puts and deletes batched
            elif called == "transact_write_items":
                actions |= {TRANSACTION_ITEMS[key] for key in dict_keys(path, skipped)
                            if key in TRANSACTION_ITEMS}
            else:
                actions.add(operations[called])
    return {f"dynamodb:{action}" for action in actions}


def dict_keys(path: Path, skipped: frozenset[str] | set[str] = frozenset()) -> set[str]:
    """The string keys of the module's dict literals, outside the operator-only functions."""
    return {key.value for function, node in nodes_in(path, ast.Dict) if function not in skipped
            for key in node.keys if isinstance(key, ast.Constant) and isinstance(key.value, str)}


def bedrock_actions() -> set[str]:
    actions = set()
    for folder in ("core", "slack"):
        for path in sorted((ROOT / "bot" / folder).rglob("*.py")):
            for _, call in calls_in(path):
                func = call.func
                # self._model.stream(...), model.invoke(...): calls on something named *model
                if isinstance(func, ast.Attribute) and func.attr in MODEL_CALLS and \
                        "model" in ast.unparse(func.value).lower():
                    actions.add(f"bedrock:{MODEL_CALLS[func.attr]}")
    return actions


def light_client_actions() -> set[str]:
    actions = set()
    for _, call in calls_in(ROOT / "bot" / "lambda_aws.py"):
        if isinstance(call.func, ast.Attribute) and call.func.attr == "_call" and \
                all(isinstance(arg, ast.Constant) for arg in call.args[:2]):
            service, operation = (arg.value for arg in call.args[:2])  # type: ignore[attr-defined]
            actions.add(LIGHT_CLIENT_ACTIONS[(service, operation)])
    return actions


@pytest.fixture(scope="module")
def function() -> dict[str, Any]:
    decoded, problems = decode(str(TEMPLATE))
    assert not problems
    return decoded["Resources"]["BotFunction"]["Properties"]


def guardrail_actions() -> set[str]:
    """Bedrock applies the guardrail a request names with the caller's own permission."""
    sent = "guardrailIdentifier" in dict_keys(ROOT / "bot" / "model" / "guardrails.py")
    return {"bedrock:ApplyGuardrail"} if sent else set()


def granted_actions(function: dict[str, Any]) -> set[str]:
    actions: set[str] = set()
    for policy in function["Policies"]:
        if "Fn::If" in policy:  # granted only when configured (HasGuardrail)
            policy = policy["Fn::If"][1]
        for statement in policy["Statement"]:
            listed = statement["Action"]
            actions |= set(listed) if isinstance(listed, list) else {listed}
    return actions


def test_the_derivation_sees_the_calls_it_should():
    # Guards the derivation itself: these calls exist today and must be found.
    assert {"dynamodb:PutItem", "dynamodb:Query", "dynamodb:BatchWriteItem"} <= dynamodb_actions()
    assert "bedrock:InvokeModelWithResponseStream" in bedrock_actions()
    assert light_client_actions() == {"lambda:InvokeFunction", "secretsmanager:GetSecretValue"}


def test_the_policy_grants_exactly_the_calls_the_function_makes(function):
    derived = dynamodb_actions() | bedrock_actions() | light_client_actions() | guardrail_actions()
    assert granted_actions(function) == derived
    # Today that is:
    assert derived == {
        "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query",
        "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem",
        "bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream", "bedrock:ApplyGuardrail",
        "lambda:InvokeFunction", "secretsmanager:GetSecretValue",
    }


def test_the_failure_queue_is_granted_by_sam_for_that_queue_only(function):
    on_failure = function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    # SAM turns this into sqs:SendMessage on the destination and nothing else.
    assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["FailedInvocations", "Arn"]}}
