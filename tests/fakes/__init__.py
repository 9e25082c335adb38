"""Wire-level fakes of the services the bot talks to, for end-to-end tests.

- `FakeSlack` (slack_api): the Slack Web API over HTTP, with recorded calls and fault injection.
- `FakeBedrock` (bedrock): Bedrock Runtime Converse / ConverseStream over HTTP.
- `signing`: signed Slack event and interaction requests, and payload builders.
"""

from tests.fakes.bedrock import BedrockRequest, FakeBedrock
from tests.fakes.slack_api import FakeSlack, SlackCall
from tests.fakes.slack_messages import SlackMessage

__all__ = ["BedrockRequest", "FakeBedrock", "FakeSlack", "SlackCall", "SlackMessage"]
