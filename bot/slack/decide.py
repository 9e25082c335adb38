"""What the bot does with a message, decided before anything is written: ignore it, refuse it,
prompt for a question, remember it, or answer it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from bot.core.records import SessionKey
from bot.profiles import ChannelProfile, ChannelProfiles
from bot.slack.events import SlackMessage, ignore_reason
from bot.slack.pacing import SlackPacing
from bot.slack.text import says_something


class Action(Enum):
    IGNORE = "ignore"
    REFUSE = "refuse"            # not in the allowlists: one polite line where addressed
    ASK_FOR_TEXT = "ask"         # addressed, but says nothing beyond mentions
    REMEMBER = "remember"        # a follow-up to keep, not to answer
    ANSWER = "answer"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str = ""

    @property
    def remembers(self) -> bool:
        return self.action in (Action.REMEMBER, Action.ANSWER)


@dataclass(frozen=True)
class TurnPolicy:
    """The settings a turn follows (their defaults live in bot/config.py only)."""

    allowed_channel_ids: frozenset[str]
    allowed_user_ids: frozenset[str]
    reply_without_mention_in_threads: bool
    loading_messages: tuple[str, ...]
    stream_buffer_chars: int
    update_interval_seconds: float
    rate_limit_per_minute: int
    # Shared by every answer of the app: Slack's rate limits count per app, not per message.
    pacing: SlackPacing = field(default_factory=SlackPacing)
    # CHANNEL_PROFILES_FILE: allowed_user_ids, reply_without_mention_in_threads and
    # daily_tokens_per_user per channel.
    profiles: ChannelProfiles | None = None
    daily_tokens_per_user: int = 0
    admin_user_ids: frozenset[str] = frozenset()

    def daily_cap(self, *, user_id: str, session: SessionKey) -> int:
        """The tokens this person may use today where they are asking (0: no cap)."""
        if user_id in self.admin_user_ids:
            return 0
        if self.profiles is None:
            return self.daily_tokens_per_user
        return self._profile(session.channel_id, session).daily_tokens_per_user

    def allows(self, *, channel_id: str, user_id: str, session: SessionKey | None = None) -> bool:
        channel_ok = not self.allowed_channel_ids or channel_id in self.allowed_channel_ids
        users = self.allowed_user_ids
        if self.profiles is not None:
            users = self._profile(channel_id, session).allowed_user_ids
        user_ok = not users or user_id in users
        return channel_ok and user_ok

    def replies_without_mention(self, *, channel_id: str, session: SessionKey | None = None) -> bool:
        if self.profiles is None:
            return self.reply_without_mention_in_threads
        return self._profile(channel_id, session).reply_without_mention_in_threads

    def _profile(self, channel_id: str, session: SessionKey | None) -> ChannelProfile:
        assert self.profiles is not None
        if session is not None:
            return self.profiles.for_session(session)
        return self.profiles.for_channel(channel_id)


def decide(
    message: SlackMessage, *, bot_user_id: str, addressed: bool, policy: TurnPolicy,
    bot_is_in_thread: Callable[[], bool],
) -> Decision:
    """`addressed`: a mention or a DM. Otherwise the message is a reply in a channel thread,
    for the bot only if it is part of that thread already (`bot_is_in_thread`, a store read,
    asked last)."""
    reason = ignore_reason(message, bot_user_id=bot_user_id)
    if reason:
        return Decision(Action.IGNORE, reason)
    if not says_something(message.text) and not addressed and not message.has_files:
        # A follow-up nobody addressed to the bot that only pings people is not for it.
        return Decision(Action.IGNORE, "only mentions")
    if not addressed and not bot_is_in_thread():
        return Decision(Action.IGNORE, "a thread the bot is not part of")
    session = SessionKey(message.team_id, message.channel_id, message.session_thread_ts)
    if not policy.allows(channel_id=message.channel_id, user_id=message.user_id, session=session):
        if addressed:
            return Decision(Action.REFUSE, "not in the allowlists")
        return Decision(Action.IGNORE, "not in the allowlists")
    if not says_something(message.text) and not message.has_files:
        return Decision(Action.ASK_FOR_TEXT)
    if not addressed and not policy.replies_without_mention(channel_id=message.channel_id,
                                                            session=session):
        return Decision(Action.REMEMBER)
    return Decision(Action.ANSWER)
