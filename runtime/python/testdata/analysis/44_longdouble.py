# Extended precision as numpy reports it: np.longdouble, finfo, and a sum compensated in it.
import numpy as np

print(np.finfo(np.float64))
print(np.finfo(np.float32).eps, np.finfo(np.float64).eps)
ld = np.longdouble(1) / 3
print(ld, np.finfo(np.longdouble).eps, np.dtype(np.longdouble).itemsize)
x = np.full(10, 0.1, dtype=np.longdouble)
print(x.sum(), np.float64(x.sum()) == 1.0)
print(np.longdouble("1.000000000000000000001") > 1)
