# The legacy global RandomState that older tutorials use: np.random.seed, randint, rand, permutation.
import numpy as np

np.random.seed(0)
print(np.random.rand(3))
print(np.random.randn(3))
print(np.random.randint(0, 10, size=8))
print(np.random.randint(0, 10, size=3).dtype)
print(np.random.choice(5, 3, replace=False), np.random.permutation(6))
print(np.random.normal(100, 15, 4).round(2))
rs = np.random.RandomState(42)
print(rs.uniform(size=3), rs.randint(1, 100, 4), rs.binomial(10, 0.5, 5))
try:
    print(np.random.randint(0, 2**40, size=3))
except ValueError as e:
    print("ValueError:", e)
