"""Byte-level mutations of a valid file, as Hypothesis strategies: what a broken upload, a bad
disk, a truncating proxy or an attacker does to it."""

from hypothesis import strategies as st


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` after one to four byte-level mutations."""
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(buffer)))
        kind = draw(st.sampled_from(["cut", "insert", "flip", "repeat", "delete"]))
        if kind == "cut":
            del buffer[at:]
        elif kind == "insert":
            buffer[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "flip" and at < len(buffer):
            buffer[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "repeat":
            chunk = bytes(buffer[at : at + draw(st.integers(1, 64))])
            buffer[at:at] = chunk * draw(st.integers(2, 50))
        elif kind == "delete":
            del buffer[at : at + draw(st.integers(1, 32))]
    return bytes(buffer)
