"""`tail -F` for access logs: the new complete lines of some files, through rotation and restarts.

- Rotation by rename (logrotate's default, `nginx -s reopen`): the path gets a new inode; the old
  file is read to its end before the new one is read from its start.
- Rotation by copytruncate: the file shrinks below the position; it is read again from its start
  (lines written between the copy and the truncation are lost: copytruncate's own race).
- A path that does not exist yet is read from its start once it appears.
- Positions (inode and offset of the last complete line) are saved by the caller once the lines
  before them are delivered; after a restart each file goes on from its saved position. When the
  file was rotated meanwhile, the rest of the old file is found by its inode next to the path
  (`access.log.1`) and read first. So nothing is skipped, and what is repeated after a crash is at
  most the lines of the last unsaved poll.
- A partial last line (the server is still writing it) waits for its newline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from secmon.core.files import read_json, write_json

MAX_READ = 8 << 20  # bytes per file per poll: one huge burst cannot hold the other files back


@dataclass
class _Open:
    handle: BinaryIO
    inode: int
    offset: int  # just after the last complete line handed out
    source: str  # the path followed: a rotated file's lines are still that log's
    pending: bytes = b""


# One poll's lines of one followed path (its rotated file's rest first): one log, so one format.
Chunk = tuple[str, list[str]]


class LogFollower:
    def __init__(self, paths: list[Path], positions: dict[str, dict] | None = None, from_start: bool = False) -> None:
        self.paths = [Path(path) for path in paths]
        self.saved = dict(positions or {})
        self.from_start = from_start
        self.files: dict[Path, _Open] = {}
        self.draining: list[_Open] = []  # rotated files to read to their end before their successor
        self.started = {path: path.exists() for path in self.paths}
        for path in self.paths:  # positions are taken now, as tail -F does, not at the first poll
            if self.started[path]:
                self._open(path, path.stat())

    def positions(self) -> dict[str, dict]:
        """What to save once every line handed out so far is delivered."""
        saved = dict(self.saved)
        saved.update({str(path): {"inode": state.inode, "offset": state.offset} for path, state in self.files.items()})
        return saved

    def poll(self) -> list[Chunk]:
        """Every complete line written since the last poll, path by path, in order; paths with none left out."""
        chunks = self._drain()  # files rotated while we were away, found on start
        for path in self.paths:
            chunks += self._poll_path(path)
        return [(source, lines) for source, lines in chunks if lines]

    def close(self) -> None:
        for state in [*self.files.values(), *self.draining]:
            state.handle.close()

    def _poll_path(self, path: Path) -> list[Chunk]:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return []
        state = self.files.get(path)
        chunks: list[Chunk] = []
        if state is not None and stat.st_ino != state.inode:  # renamed away: finish the old file first
            self.draining.append(self.files.pop(path))
            state = None
        if state is None:
            state = self._open(path, stat)
            chunks += self._drain()
            if state is None:
                return chunks
        elif stat.st_size < state.offset:  # copytruncate
            state.handle.seek(0)
            state.offset, state.pending = 0, b""
        return [*chunks, (state.source, self._read(state))]

    def _open(self, path: Path, stat: os.stat_result) -> _Open | None:
        try:
            handle = open(path, "rb")
        except OSError:
            return None
        saved = self.saved.pop(str(path), None)
        if saved is not None and saved["inode"] == stat.st_ino and saved["offset"] <= stat.st_size:
            offset = saved["offset"]
        elif saved is not None:
            offset = 0  # rotated while we were away: the old file's rest first, then this one whole
            rotated = self._find_rotated(path, saved["inode"])
            if rotated is not None:
                self.draining.append(rotated)
                rotated.handle.seek(saved["offset"])
                rotated.offset = saved["offset"]
        elif self.from_start or not self.started[path]:
            offset = 0
        else:
            offset = stat.st_size  # like tail -F: only what is written from now on
        self.started[path] = False  # a file that appears again later is new: read it whole
        handle.seek(offset)
        state = _Open(handle, stat.st_ino, offset, str(path))
        self.files[path] = state
        return state

    def _drain(self) -> list[Chunk]:
        """The rest of every rotated file, which comes before its successor's first line."""
        chunks = [(old.source, self._read(old, to_end=True)) for old in self.draining]
        for old in self.draining:
            old.handle.close()
        self.draining.clear()
        return chunks

    @staticmethod
    def _find_rotated(path: Path, inode: int) -> _Open | None:
        for candidate in sorted(path.parent.glob(path.name + "*")):
            try:
                if candidate != path and candidate.stat().st_ino == inode:
                    return _Open(open(candidate, "rb"), inode, 0, str(path))
            except OSError:
                continue
        return None

    @staticmethod
    def _read(state: _Open, to_end: bool = False) -> list[str]:
        lines: list[str] = []
        while True:
            chunk = state.handle.read(MAX_READ)
            if not chunk:
                break
            complete, newline, state.pending = (state.pending + chunk).rpartition(b"\n")
            if newline:
                lines += [line.decode("utf-8", errors="surrogateescape") for line in complete.split(b"\n")]
                state.offset += len(complete) + 1
            if not to_end:
                break
        return lines


def load_positions(path: Path) -> dict[str, dict]:
    return read_json(path, {})


def save_positions(path: Path, positions: dict[str, dict]) -> None:
    write_json(path, positions)
