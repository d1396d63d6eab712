# Inverse, determinant, condition number and rank of a covariance-like matrix.
import numpy as np

C = np.array([[2.0, 0.6, 0.3, 0.1],
              [0.6, 1.5, 0.4, 0.2],
              [0.3, 0.4, 1.2, 0.5],
              [0.1, 0.2, 0.5, 0.9]])
Ci = np.linalg.inv(C)
print(Ci)
print(Ci.tolist()[0])
print(np.linalg.det(C), np.linalg.slogdet(C))
print(np.linalg.cond(C), np.linalg.matrix_rank(C))
print(C @ Ci)
print(np.linalg.inv(np.array([[1, 2], [3, 4]])))
try:
    print(np.linalg.inv(np.array([[1.0, 2.0], [2.0, 4.0]])))
except np.linalg.LinAlgError as e:
    print("LinAlgError:", e)
