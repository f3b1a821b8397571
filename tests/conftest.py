"""Test-session settings.

One BLAS thread: the tests run many small eigendecompositions (the finite-N gradient-flow
simulator), and on a 2-core machine shared with other work, two OpenBLAS threads per call ran
5-200x slower than one. Set before numpy is first imported by the tests.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
