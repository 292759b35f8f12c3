"""A local Kinesis endpoint (moto server) that a test can take down and bring back.

The test acts as the AWS account owner here (creating streams, IAM users and
access keys, reading the stream back like a customer's consumer), so this
module, like a customer's own tooling, uses boto3 directly; the product only
ever talks to AWS through `destinations.kinesis.aws`.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REGION = "us-east-1"
# moto accepts any key while IAM authentication is off.
ANY_KEY = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
KINESIS_WRITE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["kinesis:*"], "Resource": "*"}],
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class StreamEntry:
    """One record read back from the stream."""

    shard_id: str
    sequence_number: int
    partition_key: str
    data: bytes

    @property
    def document(self) -> dict[str, Any]:
        return json.loads(self.data)

    @property
    def record_id(self) -> str:
        return str(self.document.get("_id", ""))


class LocalKinesis:
    """moto's threaded server on a fixed free port; stop() refuses connections,
    start() serves again on the same port with every stream and record kept
    (moto's state lives in this process, not in the server thread)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: Any = None
        self._iam_auth = False

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        from core.local_kinesis import shards_indexed

        if self._server is not None:
            return
        shards_indexed()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        deadline = time.monotonic() + 10
        while True:
            try:
                server.start()
                break
            except OSError:  # the old socket is still closing
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._server = server

    def stop(self) -> None:
        """Take the endpoint down: the port refuses connections until start()."""
        if self._server is None:
            return
        self._server.stop()
        # ThreadedMotoServer.stop() leaves the socket listening (connections
        # would hang, not fail); close it so the endpoint is really down.
        self._server._server.server_close()
        self._server = None

    def reset(self) -> None:
        """Forget every stream, record, user and key (moto's reset API)."""
        self._post("/moto-api/reset", b"")
        self.set_iam_auth(enabled=False)

    def set_iam_auth(self, *, enabled: bool) -> None:
        """With IAM authentication on, only live IAM access keys with a policy work."""
        self._post("/moto-api/reset-auth", b"0" if enabled else b"inf")
        self._iam_auth = enabled

    @contextmanager
    def _as_owner(self) -> Iterator[None]:
        # The account owner's console actions: made with authentication off.
        was_on = self._iam_auth
        if was_on:
            self.set_iam_auth(enabled=False)
        try:
            yield
        finally:
            if was_on:
                self.set_iam_auth(enabled=True)

    def _post(self, path: str, body: bytes) -> None:
        request = urllib.request.Request(
            self.url + path, data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    # -- the account owner's side ---------------------------------------------

    def boto(self, service: str, key: tuple[str, str] = ANY_KEY) -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.url,
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
        )

    def create_stream(self, name: str, *, shards: int = 2) -> None:
        kinesis = self.boto("kinesis")
        kinesis.create_stream(StreamName=name, ShardCount=shards)
        kinesis.get_waiter("stream_exists").wait(
            StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50}
        )

    def create_user_key(self, user: str) -> tuple[str, str]:
        """An IAM user allowed kinesis:* and a fresh access key for it."""
        iam = self.boto("iam")
        with self._as_owner():
            try:
                iam.create_user(UserName=user)
                iam.put_user_policy(
                    UserName=user,
                    PolicyName="kinesis-write",
                    PolicyDocument=json.dumps(KINESIS_WRITE_POLICY),
                )
            except iam.exceptions.EntityAlreadyExistsException:
                pass
            key = iam.create_access_key(UserName=user)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def revoke_key(self, user: str, key_id: str) -> None:
        """Delete the access key, as an admin revoking it in IAM would."""
        with self._as_owner():
            self.boto("iam").delete_access_key(UserName=user, AccessKeyId=key_id)

    # -- the customer's consumer ------------------------------------------------

    def read_stream(self, name: str) -> list[StreamEntry]:
        """Every record in the stream, shard by shard, in sequence order."""
        with self._as_owner():
            return self._read_stream(name)

    def _read_stream(self, name: str) -> list[StreamEntry]:
        kinesis = self.boto("kinesis")
        entries: list[StreamEntry] = []
        for shard_id in self._shard_ids(kinesis, name):
            iterator = kinesis.get_shard_iterator(
                StreamName=name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
                entries += [
                    StreamEntry(
                        shard_id=shard_id,
                        sequence_number=int(record["SequenceNumber"]),
                        partition_key=record["PartitionKey"],
                        data=bytes(record["Data"]),
                    )
                    for record in page["Records"]
                ]
                if not page["Records"]:
                    break
                iterator = page.get("NextShardIterator")
        return entries

    @staticmethod
    def _shard_ids(kinesis: Any, name: str) -> Iterable[str]:
        return [shard["ShardId"] for shard in kinesis.list_shards(StreamName=name)["Shards"]]


class LocalKinesisProcess(LocalKinesis):
    """The same endpoint as a separate moto server process (`core.local_kinesis`;
    benchmarks: the server then runs on its own core, as a real endpoint would). Its
    state dies with it."""

    def start(self) -> None:
        if self._server is not None:
            return
        self._server = subprocess.Popen(
            [sys.executable, "-m", "core.local_kinesis", "-H", "127.0.0.1", "-p", str(self.port)],
            cwd=Path(__file__).resolve().parents[2],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline or self._server.poll() is not None:
                    raise RuntimeError("the moto server process did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.terminate()
        self._server.wait(timeout=10)
        self._server = None


@contextmanager
def serving_streams(settings: Any, streams: dict[str, int]) -> Iterator[LocalKinesis]:
    """A local endpoint with these streams (name: shards) that this process's product
    code uses (the live server's threads included) until the block ends."""
    from destinations.kinesis import aws

    server = LocalKinesis()
    server.start()
    try:
        server.reset()  # moto's state outlives a server: start from these streams only
        for name, shards in streams.items():
            server.create_stream(name, shards=shards)
        settings.KINESIS_ENDPOINT_URL = server.url
        settings.STS_ENDPOINT_URL = settings.IAM_ENDPOINT_URL = server.url
        aws.clear_client_cache()
        yield server
    finally:
        server.stop()
        aws.clear_client_cache()
