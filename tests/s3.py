"""A real S3 server on loopback for the tests: moto's standalone server
(`moto_server`, pinned in requirements-dev.txt), one bucket per test, and
what a test needs to look inside it (objects, unfinished multipart uploads)."""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3

from tests import support

ACCESS_KEY = "verbatim-test"
SECRET_KEY = "verbatim-test-secret"  # noqa: S105 - moto accepts any
REGION = "us-east-1"


@dataclass
class S3Server:
    endpoint: str
    process: support.Process

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def new_bucket(self) -> str:
        name = f"verbatim-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str) -> list[str]:
        answer = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in answer.get("Contents", []))

    def unfinished_uploads(self, bucket: str) -> list[str]:
        answer = self.client().list_multipart_uploads(Bucket=bucket)
        return sorted(item["Key"] for item in answer.get("Uploads", []))

    def env(self, bucket: str) -> dict[str, str]:
        """The site's environment for media in `bucket`."""
        return {
            "S3_BUCKET": bucket,
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_REGION": REGION,
            "S3_ACCESS_KEY_ID": ACCESS_KEY,
            "S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def storages(self, bucket: str) -> dict:
        """The STORAGES setting for media in `bucket` (in-process tests)."""
        return {
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": bucket,
                    "endpoint_url": self.endpoint,
                    "region_name": REGION,
                    "access_key": ACCESS_KEY,
                    "secret_key": SECRET_KEY,
                    "default_acl": None,
                    "signature_version": "s3v4",
                    "file_overwrite": False,
                    "querystring_expire": 300,
                },
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }


def start_s3_server(data_dir: Path) -> S3Server:
    port = support.free_port()
    env = support.process_env(DATA_DIR=str(data_dir), TMPDIR=str(data_dir))
    process = support.Process(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env, f"moto-{port}"
    )
    endpoint = f"http://127.0.0.1:{port}"
    support.wait_for_http(endpoint + "/moto-api/")
    return S3Server(endpoint=endpoint, process=process)
