import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(3)
latency_a = rng.lognormal(mean=3.0, sigma=0.4, size=1500)
latency_b = rng.lognormal(mean=3.2, sigma=0.25, size=1500)

plt.figure(figsize=(8, 5))
plt.hist(latency_a, bins=200, density=True, cumulative=True, histtype='step',
         linewidth=1.8, label='server A')
plt.hist(latency_b, bins=200, density=True, cumulative=True, histtype='step',
         linewidth=1.8, label='server B')
plt.axhline(0.95, color='gray', linestyle=':', linewidth=1)
plt.text(5, 0.96, '95th percentile', color='gray', va='bottom')
plt.xlim(0, 80)
plt.ylim(0, 1.05)
plt.xlabel('Latency (ms)')
plt.ylabel('Cumulative fraction')
plt.title('Empirical CDF of request latency')
plt.legend(loc='lower right')
plt.grid(alpha=0.3)
