# Solving equations symbolically: a break-even point, a quadratic, a system, and nsolve.
import sympy as sp

q, p, c, F = sp.symbols("q p c F", positive=True)
print(sp.solve(sp.Eq(p * q, c * q + F), q))
x, y = sp.symbols("x y")
print(sp.solve(x**2 - 5 * x + 6, x), sp.solve(x**2 + 2 * x + 5, x))
print(sp.solve([2 * x + 3 * y - 7, x - y + 1], [x, y]))
print(sp.solveset(sp.sin(x) - sp.Rational(1, 2), x, sp.Interval(0, 2 * sp.pi)))
print(sp.nsolve(sp.exp(-x) - x, x, 0.5))
print(sp.solve(x**3 - 2, x))
r = sp.Symbol("r")
npv = -1000 + sum(300 / (1 + r) ** t for t in range(1, 5))
print(sp.nsolve(npv, r, 0.1))
print(sp.linsolve((sp.Matrix([[1, 2], [3, 4]]), sp.Matrix([5, 6]))))
