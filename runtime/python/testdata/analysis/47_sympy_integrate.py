# Calculus: integrals (indefinite, definite, improper), derivatives and limits.
import sympy as sp

x, t, lam = sp.symbols("x t lambda", positive=True)
print(sp.integrate(x**2 * sp.exp(-x), x))
print(sp.integrate(sp.exp(-x**2), (x, -sp.oo, sp.oo)))
print(sp.integrate(lam * sp.exp(-lam * t), (t, 0, sp.oo)))
print(sp.integrate(1 / (1 + x**2), (x, 0, 1)), sp.integrate(sp.log(x), (x, 1, sp.E)))
print(sp.diff(sp.sin(x) * sp.exp(x), x), sp.diff(x**x, x))
print(sp.limit(sp.sin(x) / x, x, 0), sp.limit((1 + 1 / x) ** x, x, sp.oo))
print(sp.N(sp.integrate(sp.sin(x) / x, (x, 0, 1)), 15))
print(sp.Integral(sp.sqrt(1 + sp.cos(x) ** 2), (x, 0, sp.pi)).evalf(20))
