import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(0)
t = np.linspace(0, 10, 150)
samples = np.sin(t)[None, :] + 0.1 * t[None, :] + rng.normal(0, 0.3, (50, t.size))
mean = samples.mean(axis=0)
lo, hi = np.percentile(samples, [5, 95], axis=0)
q1, q3 = np.percentile(samples, [25, 75], axis=0)

fig, ax = plt.subplots(figsize=(9, 5))
ax.fill_between(t, lo, hi, color='tab:blue', alpha=0.15, label='5–95%')
ax.fill_between(t, q1, q3, color='tab:blue', alpha=0.35, label='25–75%')
ax.plot(t, mean, color='tab:blue', lw=2, label='mean')
ax.set_xlabel('time (s)')
ax.set_ylabel('signal')
ax.set_title('Ensemble mean with percentile bands')
ax.legend(loc='upper left')
ax.margins(x=0)
