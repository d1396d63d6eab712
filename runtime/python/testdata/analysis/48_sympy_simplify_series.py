# Simplifying and expanding expressions, Taylor series and pretty output.
import sympy as sp

x, n = sp.symbols("x n")
e = (x**2 - 1) / (x - 1) + sp.sin(x) ** 2 + sp.cos(x) ** 2
print(sp.simplify(e))
print(sp.factor(x**4 - 16), sp.expand((x + 2) ** 5))
print(sp.trigsimp(sp.sin(x) * sp.cos(x) * 2), sp.apart(1 / (x**2 - 3 * x + 2)))
print(sp.series(sp.exp(x), x, 0, 6))
print(sp.series(sp.log(1 + x), x, 0, 5).removeO())
print(sp.series(sp.sin(x) / x, x, 0, 7))
print(sp.summation(1 / n**2, (n, 1, sp.oo)), sp.summation(n, (n, 1, 100)))
print(sp.pretty(sp.Integral(sp.exp(-x**2), (x, 0, sp.oo)), use_unicode=False))
print(sp.latex(sp.Rational(3, 4) * x**2 + sp.sqrt(2)))
print(sp.nsimplify(0.333333333333333), sp.pi.evalf(30), sp.sqrt(2).evalf(40))
