import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from profiles.demo import DEMO_SEGMENTS, demo_data_generate
from profiles.progress import ProgressBar


class Command(BaseCommand):
    help = "Create realistic synthetic profiles and segments (reproducible with --seed)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--profiles", type=int, default=2000)
        parser.add_argument(
            "--segments", type=int, default=5, help=f"{len(DEMO_SEGMENTS)} distinct rules"
        )
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["profiles"] < 0 or options["segments"] < 0:
            raise CommandError("--profiles and --segments must not be negative.")
        started = time.monotonic()
        progress = ProgressBar(options["profiles"], stream=self.stderr._out, label="profiles ")
        summary = demo_data_generate(
            profiles=options["profiles"],
            segments=options["segments"],
            seed=options["seed"],
            on_batch=progress.advance,
        )
        progress.finish()
        self.stdout.write(
            f"Demo data: {summary.profiles:,} profiles with {summary.identities:,} identities, "
            f"{summary.segments_created} new segments, in {time.monotonic() - started:.1f} s "
            f"(seed {options['seed']})."
        )
