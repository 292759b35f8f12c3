"""Bulk import of profiles from newline-delimited JSON, one record per line.

Each line is a record as the ingestion API takes it (profiles/records.py).
Lines are written through the same service as the API, in batches, so
identities match existing profiles and re-running the same file updates
instead of duplicating. Bad lines are reported (line number and reason) and
skipped; the good ones are written.
"""

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError

from core.input_policy import InputError, parse_json
from profiles.progress import ProgressBar
from profiles.services import MAX_BATCH, profiles_upsert

MAX_REPORTED = 100


class Command(BaseCommand):
    help = "Import profiles from an NDJSON file (one record per line; '-' reads stdin)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="path to a .ndjson file, or - for stdin")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--errors", help="also write every bad line's number and reason to this file"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if not 1 <= batch_size <= MAX_BATCH:
            raise CommandError(f"--batch-size must be between 1 and {MAX_BATCH}.")
        path = options["file"]
        if path != "-" and not Path(path).is_file():
            raise CommandError(f"No such file: {path}")
        total = _count_lines(path) if path != "-" else 0
        progress = ProgressBar(total, stream=self.stderr._out, label="importing ")
        report: list[tuple[int, str]] = []
        counts = {"created": 0, "updated": 0}
        stream = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
        try:
            for batch, last_line in _batches(stream, batch_size, report):
                results = profiles_upsert(records=[r for _, r in batch], source="import")
                for (line, _), result in zip(batch, results, strict=True):
                    if result.error:
                        report.append((line, result.error.message))
                    else:
                        counts[result.status] += 1
                progress.advance(last_line - progress.done)
        finally:
            if stream is not sys.stdin:
                stream.close()
        progress.finish()
        self._report(sorted(report), counts, options.get("errors"))

    def _report(self, report: list[tuple[int, str]], counts: dict, errors_path: str | None) -> None:
        for line, reason in report[:MAX_REPORTED]:
            self.stdout.write(f"line {line}: {reason}")
        if len(report) > MAX_REPORTED:
            self.stdout.write(f"... and {len(report) - MAX_REPORTED} more bad lines")
        if errors_path:
            Path(errors_path).write_text("".join(f"line {n}: {r}\n" for n, r in report))
        self.stdout.write(
            f"Imported {counts['created'] + counts['updated']:,} profiles "
            f"({counts['created']:,} created, {counts['updated']:,} updated); "
            f"{len(report):,} bad lines skipped."
        )


def _count_lines(path: str) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def _batches(
    stream: TextIO, size: int, report: list[tuple[int, str]]
) -> Iterator[tuple[list[tuple[int, Any]], int]]:
    """Batches of (line number, parsed JSON), each with the last line number read."""
    batch: list[tuple[int, Any]] = []
    number = 0
    for number, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            # The record itself is checked against the input policy by profiles_upsert.
            batch.append((number, parse_json(text.rstrip("\r\n"), check=False)))
        except InputError as exc:
            report.append((number, exc.message.removeprefix("is ")))
            continue
        if len(batch) == size:
            yield batch, number
            batch = []
    if batch or number:
        yield batch, number
