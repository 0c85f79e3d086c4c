"""FORMAT values read straight from a raw VCF line's bytes with numpy, for every sample
column at once (a joint VCF's 20,000 columns without a Python object each)."""

from __future__ import annotations

_COLON, _ZERO = 58, 48


class Fields:
    """Where each sample column's FORMAT fields are, from the colons of one raw line (only
    between the first and last column asked about: a shard's columns)."""

    def __init__(self, np, data, starts, ends) -> None:
        self.np, self.starts, self.ends = np, starts, ends
        lo, hi = int(starts.min()), int(ends.max())
        self.colons = np.flatnonzero(data[lo:hi] == _COLON) + lo
        self.first = np.searchsorted(self.colons, starts)  # each column's first colon

    def bounds(self, k: int):
        """(begin, end, present) of field ``k`` (1 or more: GT is field 0) per column:
        ``present`` is False where the column has fewer fields."""
        np, colons, ends = self.np, self.colons, self.ends
        if len(colons) == 0:
            return ends, ends, np.zeros(len(ends), dtype=bool)
        last = len(colons) - 1
        before, after = self.first + k - 1, self.first + k
        present = before < len(colons)
        begin = np.where(present, colons[np.minimum(before, last)] + 1, 0)
        present &= begin <= ends
        following = colons[np.minimum(after, last)]
        end = np.where((after < len(colons)) & (following < ends), following, ends)
        return begin, end, present


def bulk_depths(np, line: bytes, starts, ends, keys: list[str]):
    """(depth, found) per sample column: the first of DP and MIN_DP that is a plain
    integer of up to 9 digits, read from the bytes; ``found`` is False where neither is
    (those samples are read one by one)."""
    data = np.frombuffer(line, dtype=np.uint8)
    size = len(data)
    depth = np.zeros(len(starts), dtype=np.int64)
    found = np.zeros(len(starts), dtype=bool)
    if not len(starts):
        return depth, found
    fields = Fields(np, data, starts, ends)
    for key in ("DP", "MIN_DP"):
        if key not in keys or keys.index(key) == 0:
            continue
        begin, stop, ok = fields.bounds(keys.index(key))
        length = stop - begin
        ok &= (length >= 1) & (length <= 9)
        value = np.zeros(len(starts), dtype=np.int64)
        for i in range(9):
            inside = i < length
            char = data[np.minimum(begin + i, size - 1)].astype(np.int64)
            digit = (char >= _ZERO) & (char <= _ZERO + 9)
            ok &= ~inside | digit
            value = np.where(inside, value * 10 + (char - _ZERO), value)
        take = ok & ~found
        depth[take] = value[take]
        found |= take
    return depth, found
