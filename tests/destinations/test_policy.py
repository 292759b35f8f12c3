"""The IAM policy helper."""

from destinations.kinesis.policy import kms_key_arn, minimal_policy, trust_policy


def test_the_minimal_policy_is_filled_in() -> None:
    policy = minimal_policy(region="eu-west-1", account_id="901341027596", stream_name="orders")
    list_statement, write_statement = policy["Statement"]
    assert list_statement["Action"] == ["kinesis:ListStreams"]
    assert list_statement["Resource"] == "*"
    assert write_statement["Action"][:2] == ["kinesis:PutRecord", "kinesis:PutRecords"]
    assert write_statement["Resource"] == ["arn:aws:kinesis:eu-west-1:901341027596:stream/orders"]


def test_an_unknown_account_becomes_a_wildcard() -> None:
    policy = minimal_policy(region="us-east-2", account_id="", stream_name="orders")
    assert policy["Statement"][1]["Resource"] == ["arn:aws:kinesis:us-east-2:*:stream/orders"]


def test_other_partitions() -> None:
    policy = minimal_policy(region="cn-north-1", account_id="1", stream_name="s")
    assert policy["Statement"][1]["Resource"][0].startswith("arn:aws-cn:kinesis:cn-north-1:")


def test_a_customer_key_adds_generate_data_key() -> None:
    key = "arn:aws:kms:us-east-1:1:key/abcd"
    policy = minimal_policy(region="us-east-1", account_id="1", stream_name="s", kms_key_id=key)
    assert policy["Statement"][2] == {
        "Sid": "EncryptWithTheStreamKey",
        "Effect": "Allow",
        "Action": ["kms:GenerateDataKey"],
        "Resource": [key],
    }


def test_key_arns() -> None:
    assert kms_key_arn(region="us-east-1", account_id="1", key_id="alias/aws/kinesis") is None
    assert kms_key_arn(region="us-east-1", account_id="1", key_id="abcd") == (
        "arn:aws:kms:us-east-1:1:key/abcd"
    )
    assert kms_key_arn(region="us-east-1", account_id="1", key_id="alias/mine") == (
        "arn:aws:kms:us-east-1:1:key/*"
    )


def test_the_trust_policy_requires_the_external_id() -> None:
    policy = trust_policy(platform_principal="arn:aws:iam::1:root", external_id="ext-9")
    statement = policy["Statement"][0]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::1:root"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "ext-9"}}
