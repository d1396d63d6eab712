# Eigen-decompositions: a symmetric covariance (eigh), a general Markov matrix (eig), and PCA shares.
import numpy as np

C = np.array([[2.0, 0.6, 0.3], [0.6, 1.5, 0.4], [0.3, 0.4, 1.2]])
w, v = np.linalg.eigh(C)
print(w)
print(v)
print(w / w.sum())
P = np.array([[0.9, 0.075, 0.025], [0.15, 0.8, 0.05], [0.25, 0.25, 0.5]])
vals, vecs = np.linalg.eig(P.T)
print(vals)
i = np.argmin(np.abs(vals - 1))
stationary = np.real(vecs[:, i] / vecs[:, i].sum())
print(stationary)
print(np.linalg.eigvals(np.array([[0.0, -1.0], [1.0, 0.0]])))
