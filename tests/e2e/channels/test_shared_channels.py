"""Slack Connect and Enterprise Grid: one thread is one session whichever organisation's member
writes. The envelopes start from the shape samples (every key Slack sends); in a shared channel
the envelope's `team_id` and the event's `team` are the writer's workspace, `authorizations[0]`
the installation the event was delivered to."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes._clock import next_ts
from tests.support.events import BOT, CHANNEL, sample_event

HOME, GUEST = "T1", "T_GUEST"


def shared(name: str, *, writer_team: str, installation: dict[str, Any], **event: Any) -> dict:
    ts = next_ts()
    body = sample_event(name, team_id=writer_team, channel=CHANNEL, ts=ts, event_ts=ts,
                        team=writer_team, user_team=writer_team, source_team=writer_team, **event)
    body["is_ext_shared_channel"] = True
    body["authorizations"] = [{"user_id": BOT, "is_bot": True} | installation]
    return body


WORKSPACE_INSTALL = {"enterprise_id": None, "team_id": HOME, "is_enterprise_install": False}
GRID_WORKSPACE_INSTALL = {"enterprise_id": "E1", "team_id": HOME, "is_enterprise_install": False}
ORG_WIDE_INSTALL = {"enterprise_id": "E1", "team_id": None, "is_enterprise_install": True}


@pytest.mark.parametrize(("installation", "session_team"), [
    (WORKSPACE_INSTALL, HOME), (GRID_WORKSPACE_INSTALL, HOME), (ORG_WIDE_INSTALL, "E1"),
], ids=["slack connect", "grid, workspace install", "grid, org-wide install"])
def test_members_of_two_organisations_write_in_one_session(
    bot, fake_slack, fake_bedrock, table_items, installation, session_team
):
    fake_bedrock.reply = lambda body: f"answer #{len(body['messages']) // 2 + 1}"
    question = shared("AppMention", writer_team=HOME, installation=installation,
                      user="U_ANA", text=f"<@{BOT}> Our deploy fails on step 3.")
    thread = question["event"]["ts"]
    assert bot.post(question)[0] == 200
    bot.drain()
    follow_up = shared("Message", writer_team=GUEST, installation=installation,
                       user="W_GUEST", text="Same here, since Monday.", thread_ts=thread,
                       channel_type="channel", parent_user_id="U_ANA")
    assert bot.post(follow_up)[0] == 200
    bot.drain()

    assert fake_slack.thread_texts(CHANNEL, thread) == ["answer #1", "answer #2"]
    second = fake_bedrock.all_text_sent(fake_bedrock.requests[1])
    assert "Our deploy fails on step 3." in second and "answer #1" in second
    assert "Same here, since Monday." in second
    messages, _ = table_items()
    assert {m["SessionId"]["S"] for m in messages} == {f"{session_team}:{CHANNEL}:{thread}"}
    # The guest's answer streams to the guest, in the guest's own workspace.
    starts = [call.params for call in fake_slack.calls_to("chat.startStream")]
    assert [(s["recipient_user_id"], s["recipient_team_id"]) for s in starts] == [
        ("U_ANA", HOME), ("W_GUEST", GUEST)]
