# Matrix products and norms that reach BLAS natively: matmul, dot, einsum, matrix_power, norms.
import numpy as np

rng = np.random.default_rng(3)
A = rng.normal(size=(6, 6))
B = rng.normal(size=(6, 3))
print((A @ B)[0])
print(np.dot(A[0], B[:, 0]), np.einsum("ij,jk->ik", A, B)[1, 2])
print(np.linalg.matrix_power(np.array([[1, 1], [1, 0]]), 30))
print(np.linalg.norm(A), np.linalg.norm(A, 2), np.linalg.norm(A, np.inf))
print(np.trace(A), np.linalg.det(A))
L = np.linalg.cholesky(A @ A.T + 6 * np.eye(6))
print(L[-1])
print(np.linalg.multi_dot([A, A, B])[2])
