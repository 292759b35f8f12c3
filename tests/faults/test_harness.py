"""The fault harness itself: each injected fault really happens at the AWS seam.

If these fail, the delivery fault tests would prove nothing.
"""

import json

import pytest

from destinations.kinesis import aws
from tests.faults.conftest import STREAM
from tests.support.faults import (
    INTERNAL,
    KMS_THROTTLED,
    OK,
    READ_TIMEOUT_DELIVERED,
    THROTTLED,
    every_nth_record_fails,
)
from tests.support.local_kinesis import ANY_KEY, REGION

pytestmark = pytest.mark.fault

CREDS = aws.AwsCredentials(region=REGION, access_key_id=ANY_KEY[0], secret_access_key=ANY_KEY[1])


def entries(count, start=0):
    return [
        (json.dumps({"_id": f"{n:08x}{'0' * 24}", "n": n}).encode(), str(n))
        for n in range(start, start + count)
    ]


def test_failed_entries_never_reach_the_stream(local_kinesis, injector):
    injector.entry_faults = every_nth_record_fails(every=2, attempts=1)

    results = aws.put_records(CREDS, STREAM, entries(10))

    codes = {r.error_code for r in results if not r.ok}
    assert codes == {THROTTLED, INTERNAL}
    written = {e.document["n"] for e in local_kinesis.read_stream(STREAM)}
    assert written == {n for n, r in enumerate(results) if r.ok}
    assert len(written) == 5
    # The second attempt of the same records passes.
    failed = [e for e, r in zip(entries(10), results, strict=True) if not r.ok]
    assert all(r.ok for r in aws.put_records(CREDS, STREAM, failed))
    assert len(local_kinesis.read_stream(STREAM)) == 10


def test_whole_call_faults_follow_the_script(local_kinesis, injector):
    injector.call_script = [KMS_THROTTLED, INTERNAL, READ_TIMEOUT_DELIVERED, None]

    with pytest.raises(aws.Throttled):
        aws.put_records(CREDS, STREAM, entries(2))
    with pytest.raises(aws.TransientError):
        aws.put_records(CREDS, STREAM, entries(2))
    assert local_kinesis.read_stream(STREAM) == []
    with pytest.raises(aws.TransientError) as timeout:
        aws.put_records(CREDS, STREAM, entries(2))
    assert timeout.value.may_have_succeeded
    # The timed-out call did write its records.
    assert len(local_kinesis.read_stream(STREAM)) == 2
    assert all(r.ok for r in aws.put_records(CREDS, STREAM, entries(2)))
    assert [s.outcome for s in injector.sends][-2:] == [OK, OK]


def test_a_storm_throttles_every_call_then_recovers(local_kinesis, injector):
    injector.storm(calls=3)

    for _ in range(3):
        with pytest.raises(aws.Throttled):
            aws.put_records(CREDS, STREAM, entries(1))
    assert all(r.ok for r in aws.put_records(CREDS, STREAM, entries(1)))


def test_the_endpoint_goes_down_and_comes_back_with_its_streams(local_kinesis):
    aws.put_records(CREDS, STREAM, entries(3))
    local_kinesis.stop()

    with pytest.raises(aws.EndpointUnreachable):
        aws.put_records(CREDS, STREAM, entries(1, start=3))

    local_kinesis.start()
    assert all(r.ok for r in aws.put_records(CREDS, STREAM, entries(1, start=3)))
    assert len(local_kinesis.read_stream(STREAM)) == 4


def test_a_revoked_key_is_rejected_and_a_new_one_works(local_kinesis):
    key_id, secret = local_kinesis.create_user_key("exporter")
    local_kinesis.set_iam_auth(enabled=True)
    live = aws.AwsCredentials(region=REGION, access_key_id=key_id, secret_access_key=secret)
    assert all(r.ok for r in aws.put_records(live, STREAM, entries(1)))

    local_kinesis.revoke_key("exporter", key_id)
    with pytest.raises(aws.BadCredentials):
        aws.put_records(live, STREAM, entries(1))

    new_id, new_secret = local_kinesis.create_user_key("exporter")
    new = aws.AwsCredentials(region=REGION, access_key_id=new_id, secret_access_key=new_secret)
    assert all(r.ok for r in aws.put_records(new, STREAM, entries(1)))
