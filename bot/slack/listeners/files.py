"""`file_deleted` and `file_unshared`: the file is forgotten (deleted: never fetched again by
this process) or checked afresh (unshared: files.info says where it is still shared)."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App

from bot.files.attach import PromptFiles
from bot.slack.payload import mapping_of, text_of

log = logging.getLogger(__name__)


def register(app: App, files: PromptFiles | None) -> None:
    @app.event("file_deleted")
    def forget_deleted_file(ack: Ack, event: dict) -> None:
        ack()
        file_id = file_id_of(event)
        if files is not None and file_id:
            files.forget(file_id)
            log.info("forgot deleted file %s", file_id)

    @app.event("file_unshared")
    def recheck_unshared_file(ack: Ack, event: dict) -> None:
        ack()
        file_id = file_id_of(event)
        if files is not None and file_id:
            files.evict(file_id)
            log.info("file %s was unshared somewhere: it is checked again before its next use",
                     file_id)


def file_id_of(event: dict) -> str:
    return text_of(event.get("file_id")) or text_of(mapping_of(event.get("file")).get("id"))
