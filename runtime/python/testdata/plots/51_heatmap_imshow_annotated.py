import numpy as np
import matplotlib.pyplot as plt
from matplotlib.colors import ListedColormap, BoundaryNorm

likelihood = ['Rare', 'Unlikely', 'Possible', 'Likely', 'Certain']
impact = ['Minor', 'Moderate', 'Major', 'Severe', 'Critical']
score = np.outer(np.arange(1, 6), np.arange(1, 6))

cmap = ListedColormap(['#2e7d32', '#9ccc65', '#ffee58', '#ffa726', '#e53935'])
norm = BoundaryNorm([0, 3, 6, 10, 16, 26], cmap.N)

fig, ax = plt.subplots(figsize=(7, 6))
im = ax.imshow(score, cmap=cmap, norm=norm, origin='lower')
for i in range(score.shape[0]):
    for j in range(score.shape[1]):
        ax.text(j, i, score[i, j], ha='center', va='center',
                color='white' if score[i, j] >= 16 else 'black', fontsize=12)
ax.set_xticks(range(5), labels=impact)
ax.set_yticks(range(5), labels=likelihood)
ax.set_xlabel('Impact')
ax.set_ylabel('Likelihood')
ax.set_title('Risk matrix (imshow with annotations)')
cbar = fig.colorbar(im, ax=ax, ticks=[1.5, 4.5, 8, 13, 21])
cbar.ax.set_yticklabels(['very low', 'low', 'medium', 'high', 'extreme'])
fig.tight_layout()
