import numpy as np
import matplotlib.pyplot as plt

x = np.linspace(0, 2 * np.pi, 200)

fig, ax = plt.subplots(figsize=(8, 4.5))
ax.plot(x, np.sin(x), label=r'$\sin(x)$', color='tab:blue', linewidth=2)
ax.plot(x, np.cos(x), label=r'$\cos(x)$', color='tab:orange', linestyle='--')
ax.set_xlim(0, 2 * np.pi)
ax.set_xticks([0, np.pi / 2, np.pi, 3 * np.pi / 2, 2 * np.pi])
ax.set_xticklabels(['0', r'$\pi/2$', r'$\pi$', r'$3\pi/2$', r'$2\pi$'])
ax.set_xlabel('angle (rad)')
ax.set_ylabel('value')
ax.set_title('Sine and cosine')
ax.grid(True, alpha=0.3)
ax.legend(loc='lower left')
fig.tight_layout()
