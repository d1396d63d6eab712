# Singular value decomposition of a small ratings matrix, a rank-2 approximation and the pseudo-inverse.
import numpy as np

R = np.array([[5.0, 3.0, 0.0, 1.0],
              [4.0, 0.0, 0.0, 1.0],
              [1.0, 1.0, 0.0, 5.0],
              [1.0, 0.0, 0.0, 4.0],
              [0.0, 1.0, 5.0, 4.0]])
U, s, Vt = np.linalg.svd(R, full_matrices=False)
print(s)
print(np.abs(U[:, :2]))
approx = (U[:, :2] * s[:2]) @ Vt[:2]
print(approx.round(2))
print(np.linalg.norm(R - approx), np.linalg.norm(R, "fro"))
print(np.linalg.pinv(R).shape, np.linalg.pinv(R)[0])
