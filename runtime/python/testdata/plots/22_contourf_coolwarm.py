import numpy as np
import matplotlib.pyplot as plt

x = np.linspace(-np.pi, np.pi, 70)
y = np.linspace(-np.pi, np.pi, 70)
X, Y = np.meshgrid(x, y)
Z = np.sin(X) * np.cos(Y) + 0.3 * np.sin(2 * X + Y)

fig, ax = plt.subplots(figsize=(7, 6))
cf = ax.contourf(X, Y, Z, levels=21, cmap='coolwarm')
ax.contour(X, Y, Z, levels=[0], colors='black', linewidths=1.2)
cbar = fig.colorbar(cf, ax=ax)
cbar.set_label('z')
ax.set_aspect('equal')
ax.set_title('Filled contours with the zero level highlighted')
ax.set_xlabel('x')
ax.set_ylabel('y')
