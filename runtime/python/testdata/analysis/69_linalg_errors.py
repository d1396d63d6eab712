# What linear algebra says about bad input: a singular system, a matrix that is not positive
# definite, and a design matrix with a duplicated column.
import numpy as np

S = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
for name, f in [("solve", lambda: np.linalg.solve(S, [1.0, 2.0, 3.0])),
                ("inv", lambda: np.linalg.inv(S)),
                ("cholesky", lambda: np.linalg.cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]))),
                ("solve 2x2", lambda: np.linalg.solve(np.zeros((2, 2)), np.ones(2)))]:
    try:
        print(name, "->", f())
    except np.linalg.LinAlgError as e:
        print(name, "-> LinAlgError:", e)
X = np.column_stack([np.ones(5), np.arange(5.0), np.arange(5.0)])
coef, resid, rank, sv = np.linalg.lstsq(X, np.array([1.0, 3.0, 5.0, 7.0, 9.0]), rcond=None)
print(rank, np.round(coef, 10), np.round(sv, 10))
print(np.linalg.matrix_rank(S), np.linalg.det(S) == 0)
