# Reproducible integer draws from a seeded Generator: dice, bootstrap indices, and dtype.
import numpy as np

rng = np.random.default_rng(2024)
print(rng.integers(1, 7, size=20))
print(rng.integers(0, 150, size=(3, 5)))
print(rng.integers(0, 2**40, size=3))
print(rng.integers(0, 10, size=5, dtype=np.uint8), rng.integers(0, 10, size=4, endpoint=True))
x = rng.integers(0, 100, 5)
print(x.dtype, x)
print(np.random.default_rng(7).integers(1000, size=8))
print(np.random.default_rng(7).random(3))
