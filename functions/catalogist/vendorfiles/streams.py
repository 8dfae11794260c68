"""Binary stream plumbing: read a sample for sniffing without losing it, and split into lines.

Storage hands us a non-seekable stream, so the sniffed sample is kept and replayed in front of
the rest rather than re-read.
"""

import codecs
import io
from collections.abc import Iterator
from typing import BinaryIO


class ReplayStream(io.RawIOBase):
    """`prefix` (already read from `rest`) followed by the remainder of `rest`."""

    def __init__(self, prefix: bytes, rest: BinaryIO) -> None:
        self._prefix = prefix
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def read_sample(stream: BinaryIO, size: int) -> bytes:
    parts, total = [], 0
    while total < size:
        part = stream.read(size - total)
        if not part:
            break
        parts.append(part)
        total += len(part)
    return b"".join(parts)


class TextLines:
    """Decoded lines of a binary stream, one row at a time, never a whole line over the limit.

    A line longer than `max_line_bytes` is skipped (read through and dropped, not held) and a line
    that does not decode is kept with replacement characters; both are recorded in `problems`
    by line number so the caller can reject exactly the rows they belong to.
    """

    def __init__(self, stream: BinaryIO, encoding: str, max_line_bytes: int, chunk: int) -> None:
        self._stream = stream
        self._encoding = encoding
        self._max = max_line_bytes
        self._chunk = chunk
        self.line_number = 0
        self.problems: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        ascii_compatible = codecs.lookup(self._encoding).name not in (
            "utf-16",
            "utf-16-le",
            "utf-16-be",
            "utf-32",
            "utf-32-le",
            "utf-32-be",
        )
        raw_lines = self._byte_lines() if ascii_compatible else self._wide_lines()
        for line in raw_lines:
            self.line_number += 1
            if line is None:
                self.problems[self.line_number] = (
                    f"line {self.line_number} is longer than {self._max:,} bytes; it was skipped"
                )
                yield "\n"
            else:
                yield line

    def _byte_lines(self) -> Iterator[str | None]:
        codec = self._encoding
        for raw in self._split(b"\n", self._max, self._stream.read):
            if raw is None:
                yield None
                continue
            try:
                yield raw.decode(codec)
            except UnicodeDecodeError:
                self.problems[self.line_number + 1] = (
                    f"line {self.line_number + 1} is not valid {codec} text while the rest of "
                    "the file is (mixed encodings?); re-save the file in one encoding"
                )
                yield raw.decode(codec, errors="replace")

    def _wide_lines(self) -> Iterator[str | None]:
        decoder = codecs.getincrementaldecoder(self._encoding)(errors="replace")

        def read_text(n: int) -> str:
            data = self._stream.read(n)
            return decoder.decode(data, final=not data)

        for line in self._split("\n", self._max // 2, read_text):
            if line is not None and "\ufffd" in line:
                self.problems[self.line_number + 1] = f"line {self.line_number + 1} is not valid {self._encoding} text"
            yield line.lstrip("\ufeff") if line is not None and self.line_number == 0 else line

    def _split(self, newline, limit, read):
        """Lines including their newline; None for a line over `limit` (dropped unread)."""
        buffer = newline[:0]
        skipping = False
        while True:
            chunk = read(self._chunk)
            if not chunk:
                if buffer and not skipping:
                    yield buffer
                elif skipping:
                    yield None
                return
            buffer += chunk
            start = 0
            while True:
                end = buffer.find(newline, start)
                if end < 0:
                    break
                if skipping:
                    skipping = False
                    yield None
                elif end + 1 - start > limit:
                    yield None
                else:
                    yield buffer[start : end + 1]
                start = end + 1
            buffer = buffer[start:]
            if len(buffer) > limit:
                skipping = True
                buffer = buffer[:0]
