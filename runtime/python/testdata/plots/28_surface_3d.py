import numpy as np
import matplotlib.pyplot as plt
from mpl_toolkits.mplot3d import Axes3D  # noqa: F401  (registers the 3d projection)

x = np.linspace(-4, 4, 60)
y = np.linspace(-4, 4, 60)
X, Y = np.meshgrid(x, y)
R = np.sqrt(X ** 2 + Y ** 2)
Z = np.sin(R) / (R + 1e-9)

fig = plt.figure(figsize=(8, 6))
ax = fig.add_subplot(111, projection='3d')
surf = ax.plot_surface(X, Y, Z, cmap='viridis', linewidth=0, antialiased=True,
                       rstride=1, cstride=1)
ax.contour(X, Y, Z, zdir='z', offset=-0.4, cmap='viridis', levels=10)
ax.set_zlim(-0.4, 1.0)
ax.set_xlabel('x')
ax.set_ylabel('y')
ax.set_zlabel('sinc(r)')
ax.view_init(elev=30, azim=-60)
fig.colorbar(surf, ax=ax, shrink=0.6, pad=0.1)
ax.set_title('3-D surface with projected contours')
