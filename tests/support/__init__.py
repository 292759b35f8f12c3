"""Test and benchmark harness for delivery: a local Kinesis endpoint that can
go down, fault injection at the AWS seam, and a consumer that reads a stream back."""
