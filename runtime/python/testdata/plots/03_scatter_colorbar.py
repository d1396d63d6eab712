import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(42)
n = 300
x = rng.normal(0, 1, n)
y = 0.6 * x + rng.normal(0, 0.8, n)
magnitude = np.hypot(x, y)
sizes = 20 + 60 * rng.random(n)

fig, ax = plt.subplots(figsize=(7, 6))
sc = ax.scatter(x, y, c=magnitude, s=sizes, cmap='viridis', alpha=0.75,
                edgecolors='k', linewidths=0.3)
cbar = fig.colorbar(sc, ax=ax)
cbar.set_label('distance from origin')
ax.set_xlabel('feature 1')
ax.set_ylabel('feature 2')
ax.set_title('Scatter with color and size encoding')
ax.set_aspect('equal', adjustable='datalim')
plt.show()
