"""factory_boy factories shared by every app's tests."""

import datetime as dt
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"marketer{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")

    @factory.post_generation
    def password(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        self.set_password(extracted or "correct-horse-battery")
        if create:
            self.save()

    @factory.post_generation
    def role(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        """Marketer unless told otherwise: role="Viewer", or role="" for no role."""
        from core.roles import MARKETER, user_set_role

        role = MARKETER if extracted is None else extracted
        if create and role:
            user_set_role(user=self, role=role)


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "profiles.Segment"

    name = factory.Sequence(lambda n: f"Segment {n}")
    rule = factory.LazyFunction(lambda: {"op": "exists", "path": "personalEmail.address"})


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "profiles.Profile"

    attributes = factory.Sequence(
        lambda n: {
            "person": {"name": {"firstName": f"First{n}", "lastName": f"Last{n}"}},
            "personalEmail": {"address": f"person{n}@example.com"},
        }
    )


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "profiles.Identity"

    profile = factory.SubFactory(ProfileFactory)
    namespace = "email"
    value = factory.Sequence(lambda n: f"person{n}@example.com")


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "destinations.Connection"
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Kinesis {n}")
    access_key_id = "AKIAIOSFODNN7EXAMPLE"
    region = "us-east-1"
    stream_name = "demo-stream"

    @factory.post_generation
    def secret(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        self.set_secret(extracted or "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        if create:
            self.save()


class DataflowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "activation.Dataflow"

    connection = factory.SubFactory(ConnectionFactory)
    name = factory.Sequence(lambda n: f"Dataflow {n}")
    status = "enabled"
    created_by = factory.SelfAttribute("connection.owner")


# --- monitoring: segments mapped, backfills, runs, issues, deliveries, alerts ---------


class DataflowSegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "activation.DataflowSegment"

    dataflow = factory.SubFactory(DataflowFactory)
    segment = factory.SubFactory(SegmentFactory)


class BackfillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "activation.Backfill"

    dataflow = factory.SubFactory(DataflowFactory)
    segment = factory.SubFactory(SegmentFactory)
    status = "running"
    total = 100
    processed = 0
    started_at = factory.LazyFunction(timezone.now)


class ExportRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "activation.ExportRun"

    dataflow = factory.SubFactory(DataflowFactory)
    # One window per hour, counting back from the current hour.
    window_start = factory.Sequence(
        lambda n: timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=n)
    )
    started_at = factory.LazyAttribute(lambda r: r.window_start + dt.timedelta(seconds=5))
    processing_ms = 1200
    profiles_received = 100
    identities_activated = 98
    identities_excluded = 1
    identities_failed = 1
    status = "partial"


class RunIssueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "activation.RunIssue"

    run = factory.SubFactory(ExportRunFactory)
    profile_id = factory.Sequence(lambda n: 1000 + n)
    identity = factory.Sequence(lambda n: f"email:person{n}@example.com")
    kind = "excluded"
    error_code = "MissingPartitionKey"
    reason = "The profile has no ecid identity to use as the partition key."


class DeliveryLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "activation.DeliveryLog"

    dataflow = factory.SubFactory(DataflowFactory)
    profile_id = factory.Sequence(lambda n: 1000 + n)
    sent_at = factory.LazyFunction(timezone.now)
    shard_id = "shardId-000000000000"
    sequence_number = factory.Sequence(lambda n: f"4962{n:040d}")
    reason = "segment"
    record_id = factory.Sequence(lambda n: f"rec-{n}")


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "alerts.Alert"

    kind = "dataflow_error"
    title = factory.Sequence(lambda n: f"Problem {n}")
    message = "Something needs attention."
    dedupe_key = factory.Sequence(lambda n: f"test:{n}")
    recipient = factory.SubFactory(UserFactory)
