import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(1)
data = rng.gamma(shape=2.0, scale=1.5, size=1000)
stats = '\n'.join([
    rf'$n = {data.size}$',
    rf'$\mu = {data.mean():.2f}$',
    rf'$\mathrm{{median}} = {np.median(data):.2f}$',
    rf'$\sigma = {data.std():.2f}$',
])

fig, ax = plt.subplots(figsize=(8, 5))
ax.hist(data, bins=40, color='orchid', alpha=0.8)
ax.text(0.97, 0.95, stats, transform=ax.transAxes, fontsize=11, va='top', ha='right',
        bbox=dict(boxstyle='round,pad=0.5', facecolor='wheat', alpha=0.8))
ax.text(0.03, 0.95, 'Gamma(2, 1.5)', transform=ax.transAxes, va='top',
        bbox=dict(boxstyle='square', facecolor='white', edgecolor='gray'))
ax.set_xlabel('value')
ax.set_ylabel('count')
ax.set_title('Histogram with summary statistics box')
plt.show()
