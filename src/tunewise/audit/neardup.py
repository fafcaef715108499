"""Near-duplicate detection: MinHash signatures over word 3-gram shingles, indexed in datasketch's
MinHashLSH (Broder 1997; Leskovec, Rajaraman & Ullman, "Mining of Massive Datasets", ch. 3).

An example is a near duplicate when the LSH index returns an earlier example whose estimated Jaccard
similarity of shingle sets is >= ``threshold`` (default 0.8, with 128 permutations). Candidates from
the LSH bands are verified with the signatures' Jaccard estimate before they count.

Memory is bounded: the index holds at most ``max_indexed`` examples (default 20,000). datasketch's
in-memory LSH takes about 3.6 KB per indexed example with 128 permutations (9 bands x 13 rows at
threshold 0.8, measured on 12,808 Rotten Tomatoes snippets), plus 512 bytes for the stored signature,
so the default bound costs about 95 MB (measured: +190 MB peak RSS with 40,000 indexed examples).
Past that bound the audit is in bounded mode: near duplicates are searched among the first ``max_indexed`` examples only (exact duplicates are still
found over the whole file), and the report says how many examples were checked.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

SHINGLE_WORDS = 3
_BLOCK = 4096
_MASK32 = np.uint64(0xFFFFFFFF)
_M1, _M2 = np.uint64(0x9E3779B1), np.uint64(0x85EBCA77)


def shingle_hashes(text: str, k: int = SHINGLE_WORDS) -> np.ndarray:
    """Deterministic 32-bit hashes of the word k-grams of lower-cased, whitespace-split ``text``."""
    words = text.lower().split()
    if not words:
        return np.empty(0, dtype=np.uint64)
    h = np.fromiter(map(zlib.crc32, map(str.encode, words)), dtype=np.uint64, count=len(words))
    if len(h) < k:
        out = np.zeros(1, dtype=np.uint64)
        for x in h:
            out = (out * _M1 + x) & _MASK32
        return out
    return ((h[: len(h) - 2] * _M1) ^ (h[1: len(h) - 1] * _M2) ^ h[2:]) & _MASK32


def _identity(x: int) -> int:
    return int(x)


@dataclass
class NearMatch:
    line: int
    other: int
    jaccard: float


class NearDupIndex:
    """datasketch MinHashLSH over examples, keyed by their line numbers."""

    def __init__(self, *, threshold: float = 0.8, num_perm: int = 128, max_indexed: int = 20_000,
                 seed: int = 1) -> None:
        from datasketch import MinHash, MinHashLSH

        self.threshold, self.num_perm, self.max_indexed = threshold, num_perm, max_indexed
        self._MinHash = MinHash
        self._proto = MinHash(num_perm=num_perm, seed=seed, hashfunc=_identity)
        try:
            self.lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        except ValueError as exc:  # e.g. too few bands for a very high threshold
            from tunewise.errors import BadInputError

            raise BadInputError(f"cannot build the near-duplicate index for threshold {threshold} with "
                                f"{num_perm} permutations", why=str(exc),
                                fix="Lower --near-threshold or raise --num-perm") from None
        self._sig_blocks: list[np.ndarray] = []  # stored signatures, _BLOCK rows each
        self._lines: list[int] = []  # index position -> line number
        self.indexed = 0
        self.checked = 0
        self.skipped = 0

    @property
    def bounded(self) -> bool:
        return self.skipped > 0

    def signature(self, text: str):  # noqa: ANN201 - datasketch.MinHash
        hv = shingle_hashes(text)
        if not len(hv):
            return None
        m = self._MinHash(num_perm=self.num_perm, seed=self._proto.seed, hashfunc=_identity,
                          permutations=self._proto.permutations, scheme=self._proto.scheme)
        m.update_batch(hv.tolist())
        return m

    def query(self, sig) -> tuple[int, float] | None:  # noqa: ANN001
        """The earliest indexed example with estimated Jaccard >= threshold, with that estimate."""
        best: tuple[int, float] | None = None
        hv = sig.hashvalues
        for pos in self.lsh.query(sig):
            other = self._sig_blocks[pos // _BLOCK][pos % _BLOCK]
            j = float(np.count_nonzero(hv == other)) / len(hv)  # MinHash.jaccard's estimate
            line = self._lines[pos]
            if j >= self.threshold and (best is None or line < best[0]):
                best = (line, j)
        return best

    def add(self, line: int, text: str) -> NearMatch | None:
        """Check ``text`` against earlier examples, then index it (until the bound is reached)."""
        if self.checked >= self.max_indexed:
            self.skipped += 1
            return None
        sig = self.signature(text)
        if sig is None:
            return None
        self.checked += 1
        hit = self.query(sig)
        if hit is None:
            pos = self.indexed
            if pos % _BLOCK == 0:
                self._sig_blocks.append(np.empty((_BLOCK, self.num_perm), dtype=sig.hashvalues.dtype))
            self._sig_blocks[-1][pos % _BLOCK] = sig.hashvalues
            self._lines.append(line)
            self.lsh.insert(pos, sig, check_duplication=False)
            self.indexed += 1
        return NearMatch(line, hit[0], round(hit[1], 3)) if hit else None

    def match(self, text: str) -> tuple[int, float] | None:
        """Check a text from another file (validation) without indexing it."""
        sig = self.signature(text)
        return None if sig is None else self.query(sig)
