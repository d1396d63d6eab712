import numpy as np
import matplotlib.pyplot as plt

x = np.linspace(0, 4 * np.pi, 400)
y1 = np.sin(x)
y2 = 0.5 * np.sin(2 * x + 0.5)

plt.figure(figsize=(9, 4.5))
plt.plot(x, y1, color='black', lw=1)
plt.plot(x, y2, color='black', lw=1, ls='--')
plt.fill_between(x, y1, y2, where=(y1 >= y2), interpolate=True,
                 color='seagreen', alpha=0.5, label='y1 ≥ y2')
plt.fill_between(x, y1, y2, where=(y1 < y2), interpolate=True,
                 color='indianred', alpha=0.5, label='y1 < y2')
plt.axhline(0, color='gray', lw=0.5)
plt.title('Area between two curves')
plt.legend(loc='upper right')
plt.show()
