import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(2024)
data = [rng.normal(loc, scale, 120) for loc, scale in [(5, 1), (6, 1.5), (4.5, 0.7), (7, 2)]]
labels = ['alpha', 'beta', 'gamma', 'delta']

fig, ax = plt.subplots(figsize=(8, 5))
bp = ax.boxplot(data, notch=True, patch_artist=True, tick_labels=labels,
                showmeans=True, meanprops=dict(marker='D', markerfacecolor='white',
                                               markeredgecolor='black'))
for patch, color in zip(bp['boxes'], ['#a6cee3', '#b2df8a', '#fb9a99', '#fdbf6f']):
    patch.set_facecolor(color)
ax.set_ylabel('Measurement')
ax.set_title('Notched box plots with means')
ax.yaxis.grid(True, linestyle='--', alpha=0.5)
plt.show()
