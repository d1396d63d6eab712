import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(55)
x = np.arange(0, 30)

fig, ax = plt.subplots(figsize=(9, 5.5))
for i in range(8):
    y = np.cumsum(rng.normal(0.1 * i, 1, x.size))
    ax.plot(x, y, lw=1.5, label=f'series {i + 1}')
ax.set_xlabel('day')
ax.set_ylabel('cumulative change')
ax.set_title('Legend placed below the axes in four columns', pad=10)
ax.legend(loc='upper center', bbox_to_anchor=(0.5, -0.12), ncol=4,
          frameon=False, fontsize=9)
fig.subplots_adjust(bottom=0.25)
plt.show()
