# From a symbolic model to numbers: lambdify onto numpy, matrices and rational arithmetic.
import numpy as np
import sympy as sp

x, a, b = sp.symbols("x a b")
model = a * sp.exp(-b * x)
grad = [sp.diff(model, s) for s in (a, b)]
print(grad)
f = sp.lambdify((x, a, b), model, "numpy")
print(f(np.linspace(0, 2, 5), 3.0, 1.5))
M = sp.Matrix([[2, 1], [1, 3]])
print(M.inv(), M.det(), M.eigenvals())
print(M.eigenvects())
print(sp.Rational(1, 3) + sp.Rational(1, 6), sp.factorint(360), sp.isprime(2**31 - 1), sp.binomial(52, 5))
print(sp.Matrix(3, 3, lambda i, j: sp.Rational(1, i + j + 1)).inv())
