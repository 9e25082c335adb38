"""Every sentence the bot says to users, in one place."""

import re

STATUS_THINKING = "is thinking…"
LOADING_MESSAGES = (
    "Reading the thread…",
    "Thinking it through…",
    "Writing an answer…",
)
# Accessibility labels of the thumbs up/down under each answer.
FEEDBACK_POSITIVE = "Good answer"
FEEDBACK_NEGATIVE = "Bad answer"
SUGGESTED_PROMPTS_TITLE = "Try asking"
# What the model is asked when someone uses the "Summarize this thread" shortcut. It is kept
# in the thread's history (as that person's turn) but never posted in Slack.
SUMMARY_REQUEST = (
    "Summarize this thread so far for someone who has not read it: what was asked, "
    "what was answered or decided, and what is still open. Keep it short."
)
CANNOT_READ_THREAD = (
    "I can't read this thread. Invite me to the channel (/invite @Claude) and try again."
)

MODEL_BUSY = "Claude is busy right now. Please try again in a minute."
MODEL_ACCESS = (
    "I can't reach Claude: the model isn't enabled for this app. "
    "An admin needs to grant model access (see the bot's README)."
)
MODEL_NOT_FOUND = (
    "I can't reach Claude: the configured model doesn't exist in this region. "
    "An admin needs to check MODEL_ID."
)
MODEL_TOO_LONG = (
    "This thread has grown too long for me to read in one go. "
    "Please start a new thread (you can paste a summary of this one)."
)
MODEL_FAILED = "Something went wrong while I was answering. Please try again."
STORE_DOWN = (
    "I can't reach my memory right now, so I can't answer safely. "
    "Please try again in a minute."
)
ANSWER_NOT_SAVED = "_(I couldn't save this answer to my memory; I may not remember it later.)_"
EMPTY_MESSAGE = "Hi! What can I help you with? Write your question after mentioning me."
FILES_ONLY = "I can only read text for now. Please paste the part you want me to look at."
NOT_ALLOWED = "Sorry, I'm not enabled for you or this conversation."

# Why a shared file was not read: the model sees "[file NAME: REASON]", the person one line.
FILE_NOT_READABLE = "not readable here"
FILE_EMPTY = "it is empty"
FILE_TOO_LARGE = "it is larger than {limit}, the most I can read"
FILE_NOT_IMAGE = "it is not a valid image"
FILE_NOT_PDF = "it is not a valid PDF"
FILE_NOT_DOCUMENT = "it is not a valid {format} file"
FILE_ENCRYPTED = "it is password-protected"
FILE_NOT_TEXT = "it is not text"
FILE_TOO_MANY = "a message can carry at most {count} {what}"
FILE_GONE = "it was deleted or is no longer shared here"
FILE_ELSEWHERE = "it belongs to another conversation"
FILE_NO_ACCESS = "Slack did not let me download it (the app needs the files:read scope)"
FILE_BAD_HOST = "its address is not a Slack file host"
FILE_TIMED_OUT = "the download timed out"
FILE_UNREACHABLE = "Slack could not send it just now"
FILE_LEFT_OUT = "left out to stay within the context budget"
FILE_TRUNCATED = "[only the first {chars:,} characters of {name} are shown]"


def file_placeholder(name: str, reason: str) -> str:
    return f"[file {name}: {reason}]"


def files_skipped(skipped: list[tuple[str, str]]) -> str:
    """One line for the person: the files of their message that were not read, and why."""
    return "I couldn't read " + "; ".join(f"{name} ({reason})" for name, reason in skipped) + "."


def files_left_out(count: int) -> str:
    older = "file" if count == 1 else "files"
    return f"I left out {count} older {older} of this thread to stay within my context budget."


SLOW_DOWN = (
    "You're sending me messages faster than I can answer them. I'll keep reading, and answer "
    "again in a minute."
)
INTERRUPTED = (
    "_(I was restarted before I could finish this answer. Ask me again and I'll carry on.)_"
)
# Under an answer the person stopped with Slack's Stop button.
STOPPED = "Stopped."
# An answer Bedrock Guardrails blocked (unless GUARDRAIL_SHOW_MESSAGE shows the guardrail's own).
GUARDRAIL_BLOCKED = (
    "I can't continue with this answer: it goes against this workspace's content policy."
)
THREAD_UNREAD = (
    "I couldn't read the earlier messages of this thread this time; "
    "I'll try again with your next message."
)


def daily_cap_reached(limit: int, *, hours: int, minutes: int) -> str:
    """Said privately to a person over DAILY_TOKENS_PER_USER; `hours`/`minutes`: until reset."""
    wait = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    return (f"You've used today's allowance of {limit:,} tokens with me, so I won't answer until "
            f"it resets at midnight UTC (in {wait}). I'll still remember what you write here.")


def context_note(messages_seen: int) -> str:
    return f"I can see the last {messages_seen} messages of this thread."


def summary_note(summarised: int, messages_seen: int) -> str:
    return (f"I can see the last {messages_seen} messages of this thread, and a summary of "
            f"the {summarised} before them.")


# What the bot may write after (or instead of) an answer: never part of what the model said.
NOTICES = (
    MODEL_BUSY, MODEL_ACCESS, MODEL_NOT_FOUND, MODEL_TOO_LONG, MODEL_FAILED, STORE_DOWN,
    ANSWER_NOT_SAVED, EMPTY_MESSAGE, FILES_ONLY, NOT_ALLOWED, THREAD_UNREAD, CANNOT_READ_THREAD,
    INTERRUPTED, SLOW_DOWN, STOPPED, GUARDRAIL_BLOCKED,
)
_CONTEXT_NOTE = re.compile("|".join(
    re.escape(note).replace("0", r"\d+") for note in (summary_note(0, 0), context_note(0))
))
_FILE_NOTES = re.compile(
    r"I couldn't read .+\)\.|" + re.escape(files_left_out(0)).replace("0", r"\d+")
    + "|" + re.escape(files_left_out(1)).replace("1", r"\d+")
)


# The notes under an answer are cut to NOTE_LIMIT characters, the last of them NOTE_CUT, so a
# thread read back still knows a cut note for the bot's (is_notice).
NOTE_LIMIT = 500
NOTE_CUT = "…"
_NOTE_STARTS = ("I couldn't read ", "I left out ", "I can see the last ")


def short_note(note: str) -> str:
    note = note.strip()
    return note if len(note) <= NOTE_LIMIT else note[: NOTE_LIMIT - 1] + NOTE_CUT


def is_notice(paragraph: str) -> bool:
    """Whether a paragraph holds nothing but the bot's own notes (as the reply sink shows them)."""
    body = paragraph.strip().strip("_*")
    cut = len(body) == NOTE_LIMIT and body.endswith(NOTE_CUT)
    rest = _FILE_NOTES.sub("", _CONTEXT_NOTE.sub("", body[:-1] if cut else paragraph))
    for notice in NOTICES:
        rest = rest.replace(notice.strip("_"), "")
    if cut:  # whole notes, then the start of one
        rest = rest.strip()
        return not rest or rest.startswith(_NOTE_STARTS) or any(n.startswith(rest) for n in NOTICES)
    return bool(paragraph.strip()) and not rest.strip(" \n_*()")


def without_notices(text: str) -> str:
    """An answer of the bot's as the model wrote it, without the notes and error lines after it."""
    while text.strip():
        head, separator, last = text.rpartition("\n\n")
        if not is_notice(last):
            return text
        text = head if separator else ""
    return ""
