import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(7)
mu, sigma = 170, 8
data = rng.normal(mu, sigma, 2000)

fig, ax = plt.subplots(figsize=(8, 5))
counts, bins, _ = ax.hist(data, bins=40, density=True, color='lightsteelblue',
                          edgecolor='white', label='sample')
xs = np.linspace(bins[0], bins[-1], 300)
pdf = np.exp(-0.5 * ((xs - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
ax.plot(xs, pdf, 'r-', lw=2, label=r'$\mathcal{N}(170, 8^2)$')
ax.axvline(data.mean(), color='k', ls='--', lw=1, label=f'mean = {data.mean():.1f}')
ax.set_xlabel('Height (cm)')
ax.set_ylabel('Density')
ax.set_title('Normalized histogram with theoretical density')
ax.legend()
