# numpy's default integer: np.arange, np.array of Python ints, sums that exceed 2**31.
import numpy as np

a = np.arange(100000)
print(a.dtype, a.sum())
print(np.arange(10).dtype, np.array([1, 2, 3]).dtype, np.zeros(3, dtype=int).dtype)
print(np.array([1, 2, 3]).itemsize, np.intp(0).itemsize, np.dtype(np.intp).name)
print(np.array([2**31]).dtype)
print(np.arange(1, 21).prod())
print(np.cumsum(np.full(5, 10**9)))
print(np.array([50000, 60000]) * 50000)
print(np.arange(5).astype(float).dtype, (np.arange(5) / 2).dtype)
idx = np.argsort(np.array([3.0, 1.0, 2.0]))
print(idx, idx.dtype)
print(np.iinfo(int).max, np.iinfo(np.int_).bits)
print(np.bincount([0, 1, 1, 3]).dtype, np.count_nonzero([1, 0, 2]), type(np.count_nonzero([1, 0, 2])).__name__)
