"""The embedded broker: kombu's filesystem transport, with each message whole before a worker can see it.

kombu's filesystem transport (5.7) creates a message file under its final name and then writes it. A worker
listing the queue folder in between moves the still empty file away, reads nothing, and the JSON decoding
error ends the Celery worker ("Unrecoverable error: Expecting value: line 1 column 1"); the node then ran on
without a worker, and studies waited for ever. Here a message is written under a name no worker takes (a
dot file ending ``.part``) and renamed to its final name in one step. A message file that still cannot be
decoded (written by something else) is logged and dropped instead of ending the worker: the registry, not
the broker, holds the work, and the reconciler sends what is unfinished again.

``broker_url = "spinenode-files://"`` selects it (registered with kombu by :mod:`workers.celery_app`).
"""

from __future__ import annotations

import logging
import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

log = logging.getLogger(__name__)

ALIAS = "spinenode-files"


def message_names(queue: str) -> tuple[str, str]:
    """(staging name, final name) of a new message for ``queue``; the final name sorts by time as kombu's."""
    final = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
    return f".{final}.part", final


class Channel(filesystem.Channel):
    # kombu's two bases name the second argument differently (message, payload): either name mismatches one
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        staging, final = message_names(queue)
        folder = self.data_folder_out
        try:
            with open(os.path.join(folder, staging), "wb", buffering=0) as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(os.path.join(folder, staging), os.path.join(folder, final))
        except OSError as exc:
            raise ChannelError(f"cannot add a message to the broker folder {folder}: {exc}") from exc

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        while True:  # kombu raises Empty when no message is left
            try:
                return super()._get(queue)
            except ValueError as exc:  # the file was taken off the queue before decoding: dropped
                log.error("embedded broker: an undecodable message on queue %s was dropped (%s)", queue, exc)


class Transport(filesystem.Transport):
    Channel = Channel
