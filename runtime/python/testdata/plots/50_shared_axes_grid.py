import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(50)
fig, axes = plt.subplots(2, 3, figsize=(11, 6), sharex=True, sharey=True)
params = [(0, 1), (1, 1), (2, 1), (0, 2), (1, 0.5), (-1, 1.5)]
bins = np.linspace(-6, 6, 41)
for ax, (mu, sigma) in zip(axes.flat, params):
    ax.hist(rng.normal(mu, sigma, 800), bins=bins, color='C0', alpha=0.8)
    ax.set_title(rf'$\mu={mu},\ \sigma={sigma}$', fontsize=10)
    ax.grid(alpha=0.3)
for ax in axes[-1, :]:
    ax.set_xlabel('value')
for ax in axes[:, 0]:
    ax.set_ylabel('count')
fig.suptitle('Normal samples with shared x and y axes', fontsize=14)
fig.tight_layout()
plt.show()
