import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(10)
t = np.arange(0, 200)
signal = 50 + np.cumsum(rng.normal(0, 1, t.size))

plt.figure(figsize=(10, 5))
plt.plot(t, signal, color='black', lw=1)
plt.axhspan(45, 55, color='green', alpha=0.12, label='target band')
plt.axvspan(60, 90, color='orange', alpha=0.2, label='maintenance')
plt.axvspan(140, 160, color='orange', alpha=0.2)
plt.axhline(signal.mean(), color='blue', ls='--', lw=1, label=f'mean {signal.mean():.1f}')
plt.axvline(120, color='red', ls='-.', lw=1.5, label='incident')
plt.xlabel('sample')
plt.ylabel('reading')
plt.title('Reference lines and shaded spans')
plt.legend(loc='lower left', ncol=2, fontsize=9)
plt.xlim(t[0], t[-1])
plt.tight_layout()
