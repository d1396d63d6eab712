# Normal and other continuous draws from default_rng(seed): a simulated measurement series.
import numpy as np

rng = np.random.default_rng(42)
x = rng.normal(loc=20.0, scale=2.5, size=8)
print(x)
print(x.mean(), x.std(ddof=1))
print(rng.standard_normal((2, 3)))
print(rng.uniform(0, 1, 4))
print(rng.exponential(2.0, 3), rng.lognormal(0, 0.5, 2))
print(rng.poisson(3.5, 10), rng.binomial(20, 0.3, 6))
print(rng.gamma(2.0, 1.5, 3), rng.beta(2, 5, 3))
big = np.random.default_rng(1).normal(size=100000)
print(big.mean(), big.std(), np.percentile(big, [2.5, 97.5]))
