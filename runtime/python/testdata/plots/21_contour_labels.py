import numpy as np
import matplotlib.pyplot as plt

x = np.linspace(-2, 2, 70)
y = np.linspace(-1, 3, 70)
X, Y = np.meshgrid(x, y)
Z = (1 - X) ** 2 + 100 * (Y - X ** 2) ** 2  # Rosenbrock function

fig, ax = plt.subplots(figsize=(7, 6))
levels = np.logspace(-0.5, 3.5, 12)
cs = ax.contour(X, Y, Z, levels=levels, cmap='viridis')
ax.clabel(cs, inline=True, fontsize=8, fmt='%.0f')
ax.plot(1, 1, 'r*', markersize=14, label='minimum (1, 1)')
ax.set_xlabel('x')
ax.set_ylabel('y')
ax.set_title('Contour lines of the Rosenbrock function')
ax.legend(loc='lower right')
plt.show()
