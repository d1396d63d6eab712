import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(21)
x_edges = np.linspace(0, 10, 26)
y_edges = np.geomspace(1, 100, 21)
Xc = 0.5 * (x_edges[:-1] + x_edges[1:])
Yc = np.sqrt(y_edges[:-1] * y_edges[1:])
Z = np.outer(np.log10(Yc), np.sin(Xc)) + rng.normal(0, 0.1, (Yc.size, Xc.size))

fig, ax = plt.subplots(figsize=(8, 5))
mesh = ax.pcolormesh(x_edges, y_edges, Z, cmap='RdBu_r', vmin=-2, vmax=2,
                     edgecolors='face', shading='flat')
ax.set_yscale('log')
fig.colorbar(mesh, ax=ax, extend='both', label='anomaly')
ax.set_xlabel('distance (km)')
ax.set_ylabel('frequency (Hz)')
ax.set_title('pcolormesh on a non-uniform grid')
plt.show()
