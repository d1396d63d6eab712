import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(5)
data = [
    rng.normal(0, 1, 300),
    np.concatenate([rng.normal(-2, 0.5, 150), rng.normal(2, 0.5, 150)]),
    rng.exponential(1.0, 300),
]

fig, ax = plt.subplots(figsize=(7, 5))
parts = ax.violinplot(data, showmeans=False, showmedians=True, showextrema=True)
for body, color in zip(parts['bodies'], ['#1b9e77', '#d95f02', '#7570b3']):
    body.set_facecolor(color)
    body.set_edgecolor('black')
    body.set_alpha(0.6)
ax.set_xticks([1, 2, 3], labels=['normal', 'bimodal', 'exponential'])
ax.set_ylabel('value')
ax.set_title('Violin plots of three distributions')
fig.tight_layout()
