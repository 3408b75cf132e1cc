"""A real OCI registry for tests: Debian's `docker-registry` (CNCF distribution) on loopback.

`Registry.start(tmp)` writes a config with a fresh storage directory, runs
`docker-registry serve CONFIG` on a free loopback port and waits for `/v2/` to answer;
`close()` stops it. The package's own service is never involved.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BINARY = "docker-registry"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Registry:
    process: subprocess.Popen[bytes]
    address: str  # host:port
    storage: Path

    @classmethod
    def start(cls, tmp: Path, users: dict[str, str] | None = None) -> Registry:
        """Start a registry; with `users` (name → password) it asks for Basic auth (htpasswd)."""
        binary = shutil.which(BINARY) or f"/usr/bin/{BINARY}"
        storage = tmp / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            address = f"127.0.0.1:{free_port()}"
            config = tmp / "config.yml"
            config.write_text(
                "version: 0.1\n"
                "log:\n  level: error\n  accesslog:\n    disabled: true\n"
                f"storage:\n  filesystem:\n    rootdirectory: {storage}\n"
                "  delete:\n    enabled: true\n"
                f"http:\n  addr: {address}\n" + _auth(tmp, users)
            )
            log = (tmp / "registry.log").open("ab")
            process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
            log.close()
            registry = cls(process, address, storage)
            if registry._wait_ready():
                return registry
            registry.close()
        raise RuntimeError(f"docker-registry did not start; see {tmp / 'registry.log'}")

    def _wait_ready(self, seconds: float = 20) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=2) as r:
                    if r.status == 200:
                        return True
            except urllib.error.HTTPError as e:
                if e.code == 401:  # up, and asking for credentials
                    return True
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        return False

    def get(self, path: str, accept: str | None = None) -> tuple[bytes, dict[str, str]]:
        """GET `http://ADDRESS/v2/PATH` over the registry's HTTP API; (body, headers)."""
        request = urllib.request.Request(f"http://{self.address}/v2/{path}")
        if accept:
            request.add_header("Accept", accept)
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.read(), dict(r.headers)

    def blob_file(self, digest: str) -> Path:
        """Where the registry's filesystem storage keeps the blob `digest`."""
        hex_ = digest.split(":", 1)[1]
        return (
            self.storage / "docker" / "registry" / "v2" / "blobs" / "sha256" / hex_[:2] / hex_
            / "data"
        )  # fmt: skip

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _auth(tmp: Path, users: dict[str, str] | None) -> str:
    if not users:
        return ""
    import bcrypt

    htpasswd = tmp / "htpasswd"
    htpasswd.write_text(
        "".join(
            f"{name}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()}\n"
            for name, password in users.items()
        )
    )
    return f"auth:\n  htpasswd:\n    realm: wasmesh-tests\n    path: {htpasswd}\n"
