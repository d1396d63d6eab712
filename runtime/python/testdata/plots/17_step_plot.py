import numpy as np
import matplotlib.pyplot as plt

x = np.arange(0, 12)
y = np.array([3, 3, 5, 4, 6, 8, 7, 7, 9, 6, 5, 4])

fig, axes = plt.subplots(3, 1, figsize=(7, 7), sharex=True)
for ax, where in zip(axes, ['pre', 'mid', 'post']):
    ax.step(x, y, where=where, color='C2', lw=2, label=f"where='{where}'")
    ax.plot(x, y, 'o', color='gray', alpha=0.5)
    ax.legend(loc='upper left')
    ax.set_ylim(0, 10)
axes[-1].set_xlabel('month')
fig.suptitle('Step plots with different alignment')
fig.tight_layout()
plt.show()
