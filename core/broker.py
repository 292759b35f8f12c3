"""The embedded Celery broker of `make run`: kombu's filesystem transport, made safe.

kombu's filesystem transport (5.x) creates a message file and then writes it;
a worker that lists the folder in between reads an empty file, raises
JSONDecodeError and dies ("Unrecoverable error", kombu issue #1551), which
took the whole local product down. This transport fixes both sides:

- writers put the message in a hidden temporary file (a name the readers'
  filter never matches) and rename it into place: a rename is atomic, so a
  reader sees a whole message or nothing;
- readers that still meet an unreadable message (a file damaged by hand, a
  crash of another program) log it, keep it in `broken/` next to the queue
  folder for inspection, and go on with the next message instead of dying.

Selected in the settings (`CELERY_BROKER_TRANSPORT`) whenever
`CELERY_BROKER_URL` is `filesystem://`; everything else is kombu's.
"""

import contextlib
import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic_ns
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

TEMPORARY_PREFIX = ".writing-"
BROKEN_FOLDER = "broken"


def message_filename(queue: str) -> str:
    """kombu's naming with a zero-padded nanosecond clock, so names sort in the
    order messages were sent (kombu's milliseconds tie, and then order by
    uuid); readers select files by the `.<queue>.msg` ending."""
    return f"{monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg"


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        folder = self.data_folder_out
        final = os.path.join(folder, message_filename(queue))
        # ".writing-<uuid>": partition('.')[2] is never "<queue>.msg".
        temporary = os.path.join(folder, f"{TEMPORARY_PREFIX}{uuid.uuid4()}")
        try:
            with open(temporary, "wb") as file:
                file.write(dumps(payload).encode())
            os.replace(temporary, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(temporary)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue: str) -> Any:
        wanted = f"{queue}.msg"
        processed = self.processed_folder if self.store_processed else tempfile.gettempdir()
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.partition(".")[2] != wanted:
                continue
            try:  # claim it: only one reader's move succeeds
                shutil.move(os.path.join(self.data_folder_in, filename), processed)
            except OSError:
                continue
            path = os.path.join(processed, filename)
            try:
                with open(path, "rb") as file:
                    raw = file.read()
            except OSError as exc:
                raise ChannelError(f"Cannot read file {path!r} from queue.") from exc
            try:
                message = loads(raw.decode())
            except ValueError:  # JSONDecodeError and UnicodeDecodeError
                self._set_aside(path, size=len(raw))
                continue
            if not self.store_processed:
                os.remove(path)
            return message
        raise Empty()

    def _set_aside(self, path: str, *, size: int) -> None:
        broken = Path(self.data_folder_in).parent / BROKEN_FOLDER
        broken.mkdir(exist_ok=True)
        target = broken / os.path.basename(path)
        try:
            shutil.move(path, target)
        except OSError:
            target = Path(path)
        logger.error(
            "Skipped an unreadable broker message (%d bytes, not JSON); kept as %s",
            size,
            target,
        )


class Transport(filesystem.Transport):
    Channel = Channel
