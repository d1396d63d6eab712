import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(17)
centers = np.array([[0, 0, 0], [4, 4, 0], [0, 4, 4]])
points, labels = [], []
for i, c in enumerate(centers):
    points.append(rng.normal(c, 0.8, size=(150, 3)))
    labels += [i] * 150
points = np.vstack(points)
labels = np.array(labels)

fig = plt.figure(figsize=(7, 6))
ax = fig.add_subplot(projection='3d')
for k, (color, marker) in enumerate(zip(['tab:blue', 'tab:orange', 'tab:green'], ['o', '^', 's'])):
    pts = points[labels == k]
    ax.scatter(pts[:, 0], pts[:, 1], pts[:, 2], c=color, marker=marker, s=15,
               depthshade=True, label=f'cluster {k}')
ax.set_xlabel('X')
ax.set_ylabel('Y')
ax.set_zlabel('Z')
ax.set_title('Three clusters in 3-D')
ax.legend()
plt.show()
