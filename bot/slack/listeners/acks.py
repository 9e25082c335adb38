from slack_bolt import Ack


def ack_at_once(ack: Ack) -> None:
    """Slack retries anything not acknowledged within 3 s: ack first, work in a lazy listener."""
    ack()
