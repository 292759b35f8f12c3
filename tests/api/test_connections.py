"""POST/GET/PATCH/DELETE /api/v1/connections."""

import json

import pytest

from audit.models import AuditEntry
from destinations.kinesis import aws as kinesis
from destinations.models import Connection
from tests.api.conftest import KEY_ID, REGION, SECRET, STREAM, access_key_connection
from tests.factories import DataflowFactory
from tests.support import aws_calls

pytestmark = pytest.mark.django_db


def create(api, body=None):
    answer = api.post("/api/v1/connections", body or access_key_connection())
    assert answer.status == 201, answer.body
    return answer


def test_it_creates_a_connection_and_answers_the_permission_check(api, user, stream):
    answer = create(api)
    body = answer.body
    assert body["name"] == "Orders"
    assert body["owner"] == user.username
    assert body["auth"]["specName"] == "Access Key"
    assert body["auth"]["params"]["accessKeyId"] == kinesis.mask_key_id(KEY_ID)
    assert body["params"] == {
        "stream": STREAM,
        "includeSegmentNames": True,
        "includeSegmentTimestamps": False,
        "alertsEnabled": True,
    }
    check = body["permissionCheck"]
    labels = {item["label"]: item["status"] for item in check["items"]}
    assert labels["kinesis:ListStreams"] == "pass"
    assert check["ok"] is True
    assert check["stream"]["status"] == "ACTIVE"
    assert check["requiredPolicy"]["Statement"]
    assert body["health"]["status"] == "ok"
    assert answer.headers["ETag"] == body["etag"]
    connection = Connection.objects.get(pk=body["id"])
    assert connection.get_secret() == SECRET


def test_the_secret_is_never_returned(api, stream):
    created = create(api)
    listed = api.get("/api/v1/connections")
    for text in (json.dumps(created.body), json.dumps(listed.body)):
        assert SECRET not in text
        assert KEY_ID not in text  # only the masked key id
        assert "secretKey" not in text


def test_a_missing_stream_is_reported_by_the_check_not_refused(api, aws):
    body = create(api, access_key_connection(stream_name="not-there")).body
    check = {item["key"]: item for item in body["permissionCheck"]["items"]}
    assert body["permissionCheck"]["ok"] is False
    assert check["stream_exists"]["status"] == "fail"
    assert body["health"]["status"] == "failing"


def test_an_iam_role_connection(api, stream):
    payload = access_key_connection()
    payload["auth"] = {
        "specName": "IAM Role",
        "params": {
            "roleArn": "arn:aws:iam::123456789012:role/KinesisWriter",
            "externalId": "streamline-0123456789abcdef",
            "region": REGION,
        },
    }
    body = create(api, payload).body
    assert body["auth"]["specName"] == "IAM Role"
    assert body["auth"]["params"]["roleArn"].endswith("role/KinesisWriter")
    assert body["auth"]["params"]["accessKeyId"] == ""


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["auth"]["params"].pop("secretKey"), "auth.params.secretKey"),
        (lambda b: b["auth"]["params"].update(region="mars-1"), "auth.params.region"),
        (
            lambda b: b["auth"]["params"].update(accessKeyId="ASIA0000000000000000"),
            "auth.params.accessKeyId",
        ),
        (lambda b: b["params"].update(stream="no spaces allowed"), "params.stream"),
        (lambda b: b.update(name=""), "name"),
        (lambda b: b["auth"].update(specName="Password"), "auth.specName"),
        (lambda b: b["auth"]["params"].update(secretkey="typo"), "auth.params.secretkey"),
        (lambda b: b.pop("params"), "params"),
    ],
)
def test_bad_input_is_refused_naming_the_field(api, aws, change, field):
    body = access_key_connection()
    change(body)
    answer = api.post("/api/v1/connections", body)
    assert answer.status == 400, answer.body
    assert field in answer.error["fields"], answer.error
    assert Connection.objects.count() == 0


def test_credentials_aws_refuses_are_a_400_on_the_secret(api, aws):
    def refuse(service, operation, params, proceed):
        raise aws_calls.client_error("SignatureDoesNotMatch", operation=operation, status=403)

    with aws_calls.call_hook(refuse):
        answer = api.post("/api/v1/connections", access_key_connection())
    assert answer.status == 400
    assert answer.error["code"] == "aws_refused"
    assert "auth.params.secretKey" in answer.error["fields"]
    assert Connection.objects.count() == 0


def test_an_aws_refusal_is_said_in_the_callers_language_with_english_code_and_field(api, aws):
    def refuse(service, operation, params, proceed):
        raise aws_calls.client_error("SignatureDoesNotMatch", operation=operation, status=403)

    with aws_calls.call_hook(refuse):
        answer = api.post(
            "/api/v1/connections", access_key_connection(), **{"Accept-Language": "sv"}
        )
    assert (answer.status, answer.error["code"]) == (400, "aws_refused")
    message = answer.error["message"]
    assert message.startswith("Den hemliga åtkomstnyckeln hör inte till åtkomstnyckeln "), message
    assert answer.error["fields"] == {"auth.params.secretKey": message}


def test_aws_unreachable_is_a_502(api, aws):
    def down(service, operation, params, proceed):
        raise aws_calls.connect_timeout()

    with aws_calls.call_hook(down):
        answer = api.post("/api/v1/connections", access_key_connection())
    assert answer.status == 502
    assert answer.error["code"] == "aws_unavailable"


def test_a_name_already_used_is_refused(api, stream):
    create(api)
    answer = api.post("/api/v1/connections", access_key_connection())
    assert answer.status == 400
    assert "already" in answer.error["fields"]["name"]


def test_list_and_read(api, stream):
    create(api)
    second = create(api, access_key_connection(name="Returns")).body
    listed = api.get("/api/v1/connections?limit=1&offset=1").body
    assert listed["_page"] == {"count": 2, "limit": 1, "offset": 1}
    assert [c["id"] for c in listed["items"]] == [second["id"]]  # ordered by name
    read = api.get(f"/api/v1/connections/{second['id']}")
    assert read.body["name"] == "Returns"
    assert read.headers["ETag"] == second["etag"]
    missing = api.get("/api/v1/connections/999999")
    assert (missing.status, missing.error["code"]) == (404, "not_found")


def test_patch_needs_the_current_etag(api, stream):
    created = create(api).body
    path = f"/api/v1/connections/{created['id']}"
    assert api.patch(path, {"name": "Renamed"}).status == 428
    stale = api.patch(path, {"name": "Renamed"}, etag='"0000"')
    assert (stale.status, stale.error["code"]) == (412, "precondition_failed")
    done = api.patch(
        path, {"name": "Renamed", "params": {"alertsEnabled": False}}, etag=created["etag"]
    )
    assert done.status == 200, done.body
    assert done.body["name"] == "Renamed"
    assert done.body["params"]["alertsEnabled"] is False
    assert done.body["etag"] != created["etag"]
    again = api.patch(path, {"name": "Twice"}, etag=created["etag"])
    assert again.status == 412


def test_rotating_the_secret_verifies_it_and_runs_the_check_again(api, stream):
    created = create(api).body
    answer = api.patch(
        f"/api/v1/connections/{created['id']}",
        {"auth": {"params": {"secretKey": "a-brand-new-secret-key-0123456789abcd"}}},
        etag=created["etag"],
    )
    assert answer.status == 200, answer.body
    assert answer.body["auth"]["secretUpdatedAt"] != created["auth"]["secretUpdatedAt"]
    assert answer.body["permissionCheck"]["ok"] is True
    connection = Connection.objects.get(pk=created["id"])
    assert connection.get_secret() == "a-brand-new-secret-key-0123456789abcd"
    entry = AuditEntry.objects.filter(object_id=created["id"]).order_by("-id").first()
    assert entry is None or "a-brand-new" not in json.dumps(entry.changes)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"params": {"stream": "another"}}, "params.stream"),
        ({"auth": {"params": {"region": "eu-west-1"}}}, "auth.params.region"),
        ({"auth": {"specName": "IAM Role", "params": {}}}, "auth.specName"),
        (
            {"auth": {"params": {"roleArn": "arn:aws:iam::123456789012:role/x"}}},
            "auth.params.roleArn",
        ),
        ({"auth": {"params": {"accessKeyId": "AKIAIOSFODNN7OTHER00"}}}, "auth.params.secretKey"),
        ({"name": ""}, "name"),
    ],
)
def test_patch_refuses_what_cannot_change(api, stream, patch, field):
    created = create(api).body
    answer = api.patch(f"/api/v1/connections/{created['id']}", patch, etag=created["etag"])
    assert answer.status == 400, answer.body
    assert field in answer.error["fields"]


def test_delete(api, stream, user):
    created = create(api).body
    path = f"/api/v1/connections/{created['id']}"
    dataflow = DataflowFactory(connection=Connection.objects.get(pk=created["id"]))
    in_use = api.delete(path)
    assert (in_use.status, in_use.error["code"]) == (409, "conflict")
    assert dataflow.name in in_use.error["message"]
    dataflow.delete()
    assert api.delete(path, etag='"stale"').status == 412
    assert api.delete(path).status == 204
    assert api.get(path).status == 404


def test_a_viewer_reads_but_cannot_write(api, viewer_api, stream):
    created = create(api).body
    path = f"/api/v1/connections/{created['id']}"
    assert viewer_api.get(path).status == 200
    for answer in (
        viewer_api.post("/api/v1/connections", access_key_connection(name="Mine")),
        viewer_api.patch(path, {"name": "Mine"}, etag=created["etag"]),
        viewer_api.delete(path),
        viewer_api.post(f"{path}/permissionCheck"),
    ):
        assert answer.status == 403
        assert answer.error["code"] == "forbidden"
    assert Connection.objects.get(pk=created["id"]).name == "Orders"


def test_the_permission_check_can_run_again(api, stream, owner_kinesis):
    created = create(api).body
    owner_kinesis.delete_stream(StreamName=STREAM)
    answer = api.post(f"/api/v1/connections/{created['id']}/permissionCheck")
    assert answer.status == 200
    assert answer.body["permissionCheck"]["ok"] is False


def test_an_endpoint_answering_garbage_is_a_502_not_a_500(api, aws):
    from botocore.parsers import ResponseParserError

    def garbage(service, operation, params, proceed):
        raise ResponseParserError("Unable to parse response: <!doctype html>")

    with aws_calls.call_hook(garbage):
        answer = api.post("/api/v1/connections", access_key_connection())
    assert (answer.status, answer.error["code"]) == (502, "aws_unavailable")
