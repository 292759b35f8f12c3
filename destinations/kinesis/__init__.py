"""Everything that knows Amazon Kinesis: the AWS client, the connect wizard,
the permission check and the IAM policy helper."""
