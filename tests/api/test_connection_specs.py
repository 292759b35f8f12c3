import pytest

pytestmark = pytest.mark.django_db


def test_the_catalog_lists_kinesis_with_its_auth_and_target_parameters(api):
    answer = api.get("/api/v1/connectionSpecs")
    assert answer.status == 200
    (kinesis,) = answer.body["items"]
    assert (kinesis["id"], kinesis["name"], kinesis["beta"]) == ("kinesis", "Amazon Kinesis", True)
    auth = {spec["name"]: spec["spec"] for spec in kinesis["authSpec"]}
    assert set(auth["Access Key"]["required"]) == {"accessKeyId", "secretKey", "region"}
    assert auth["Access Key"]["properties"]["secretKey"]["writeOnly"] is True
    assert "us-east-1" in auth["Access Key"]["properties"]["region"]["enum"]
    assert set(auth["IAM Role"]["required"]) == {"roleArn", "externalId", "region"}
    assert kinesis["targetSpec"]["spec"]["required"] == ["stream"]


def test_one_spec_and_an_unknown_one(api):
    assert api.get("/api/v1/connectionSpecs/kinesis").body["id"] == "kinesis"
    answer = api.get("/api/v1/connectionSpecs/pubsub")
    assert answer.status == 404
    assert answer.error["code"] == "not_found"


def test_it_needs_a_token(anonymous_api):
    answer = anonymous_api.get("/api/v1/connectionSpecs")
    assert answer.status == 401
    assert answer.error["code"] == "unauthorized"
