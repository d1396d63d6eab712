import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(99)
n = 5000
x = rng.standard_normal(n)
y = 1.5 * x + rng.standard_normal(n)

fig, ax = plt.subplots(figsize=(7, 6))
hb = ax.hexbin(x, y, gridsize=35, cmap='inferno', mincnt=1, bins='log')
fig.colorbar(hb, ax=ax, label='log10(count)')
ax.set_xlabel('x')
ax.set_ylabel('y')
ax.set_title('Hexagonal binning of 5000 points')
