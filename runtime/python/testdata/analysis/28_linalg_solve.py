# A linear system from a mixing problem, solved with np.linalg.solve; printed as users print it
# (array repr, and the full-precision values a list shows).
import numpy as np

A = np.array([[4.2, -1.3, 0.7, 2.1],
              [1.1, 3.9, -2.2, 0.4],
              [0.3, -0.8, 5.6, -1.7],
              [2.5, 0.6, -1.1, 4.8]])
b = np.array([12.4, -3.3, 7.9, 10.05])
x = np.linalg.solve(A, b)
print(x)
print(x.tolist())
print(A @ x - b)
print(np.allclose(A @ x, b))
B = np.column_stack([b, b[::-1]])
print(np.linalg.solve(A, B))
