# How floats print: numpy's repr, print options, float32, scientific notation, pandas options.
import numpy as np
import pandas as pd

a = np.array([0.1 + 0.2, 1 / 3, 2 / 3, 1e-8, 123456.789, 1e16])
print(a)
print(repr(a))
print(a.tolist())
print(np.float64(0.1) + np.float64(0.2), repr(np.float64(1 / 3)), np.float32(1 / 3), np.float16(0.1))
print(np.array([1.5, 2.25], dtype=np.float32), np.float32(16777217.0))
with np.printoptions(precision=3, suppress=True):
    print(a)
print(np.format_float_positional(np.pi, precision=4), np.format_float_scientific(6.02214076e23, precision=3))
print(np.array([1e-300 * 1e-300, 1e308 * 10, -0.0]))
print(np.array2string(np.linspace(0, 1, 7), separator=", "))
print(np.sum(np.full(10, 0.1)), sum([0.1] * 10), np.add.reduce(np.full(10, 0.1, dtype=np.float32)))
pd.set_option("display.precision", 3)
print(pd.DataFrame({"x": [1 / 3, 2 / 3, 1e6 / 3], "y": [1e-5, 2.5, 3]}))
pd.set_option("display.float_format", "{:,.2f}".format)
print(pd.Series([1234567.891, 0.005, -2.5]))
