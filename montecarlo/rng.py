"""An inline pseudo-random generator for Numba Monte Carlo kernels: xoshiro256**.

The kernels keep the four 64-bit state words of one chain in local variables, so a draw costs a
few register instructions and no memory traffic (``np.random`` inside Numba is a Mersenne Twister
whose state lives in thread-local memory, reached through a call per draw). Each chain's state is
seeded from its own :class:`numpy.random.SeedSequence`, so chains are independent and a given seed
reproduces a run exactly.

Every draw function takes the state words and returns ``(value, s0, s1, s2, s3)``; a kernel loads
the state from its array once, threads it through the loop and stores it back at the end. They are
meant for Numba code: called from Python they return Python ints, which must be converted back to
``numpy.uint64`` before the next call (Numba would type them as signed).

Reference: D. Blackman and S. Vigna, *Scrambled linear pseudorandom number generators*,
ACM Trans. Math. Softw. 47, 36 (2021) (xoshiro256**); D. Lemire, *Fast random integer generation
in an interval*, ACM Trans. Model. Comput. Simul. 29, 3 (2019) (bounded integers).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_SHIFT_17 = np.uint64(17)
_ROTATE_45 = np.uint64(45)
_ROTATE_7 = np.uint64(7)
_TIMES_5 = np.uint64(5)
_TIMES_9 = np.uint64(9)
_BITS_64 = np.uint64(64)
_DROP_11 = np.uint64(11)
_HALF_WORD = np.uint64(32)
_LOW_32 = np.uint64(0xFFFFFFFF)
_TWO_TO_32 = np.uint64(1 << 32)
_TWO_TO_MINUS_53 = 2.0**-53


def seed_state(seed_sequence: np.random.SeedSequence) -> np.ndarray:
    """The four xoshiro256** state words (uint64) drawn from a seed sequence.

    The all-zero state is the one fixed point of the generator; it is replaced by a non-zero
    word (it occurs with probability 2^-256).
    """
    state = seed_sequence.generate_state(4, dtype=np.uint64)
    if not state.any():
        state[0] = 1
    return state


@njit(inline="always")
def _rotate_left(x, k):
    return (x << k) | (x >> (_BITS_64 - k))


@njit(inline="always")
def next_uint64(s0, s1, s2, s3):
    """One 64-bit output of xoshiro256** and the advanced state."""
    result = _rotate_left(s1 * _TIMES_5, _ROTATE_7) * _TIMES_9
    t = s1 << _SHIFT_17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotate_left(s3, _ROTATE_45)
    return result, s0, s1, s2, s3


@njit(inline="always")
def next_uniform(s0, s1, s2, s3):
    """A uniform double in [0, 1) from the top 53 bits of one draw: a multiple of 2^-53."""
    r, s0, s1, s2, s3 = next_uint64(s0, s1, s2, s3)
    return (r >> _DROP_11) * _TWO_TO_MINUS_53, s0, s1, s2, s3


@njit(inline="always")
def next_index_and_bits(n, s0, s1, s2, s3):
    """An exactly uniform integer in [0, n), 1 <= n < 2^32 (Lemire's multiply-shift), and the 32
    low bits of the same draw.

    The top 32 bits of a draw times ``n`` give the index in the high word of the product; the rare
    draws whose low word falls below ``2^32 mod n`` are redrawn, which removes the bias of a plain
    multiply-shift. The modulo is only computed on that rare branch (probability below n / 2^32).
    The low 32 bits of the accepted draw are independent of its top ones (every output bit of
    xoshiro256** is of full quality): a kernel may use them as further random bits.
    """
    bound = np.uint64(n)
    r, s0, s1, s2, s3 = next_uint64(s0, s1, s2, s3)
    product = (r >> _HALF_WORD) * bound
    if (product & _LOW_32) < bound:
        threshold = (_TWO_TO_32 - bound) % bound
        while (product & _LOW_32) < threshold:
            r, s0, s1, s2, s3 = next_uint64(s0, s1, s2, s3)
            product = (r >> _HALF_WORD) * bound
    return np.int64(product >> _HALF_WORD), r & _LOW_32, s0, s1, s2, s3


@njit(inline="always")
def next_index(n, s0, s1, s2, s3):
    """An exactly uniform integer in [0, n), 1 <= n < 2^32: :func:`next_index_and_bits` without
    the low bits (the same draws, so the same stream)."""
    index, _bits, s0, s1, s2, s3 = next_index_and_bits(n, s0, s1, s2, s3)
    return index, s0, s1, s2, s3
