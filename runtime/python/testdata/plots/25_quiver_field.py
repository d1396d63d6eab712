import numpy as np
import matplotlib.pyplot as plt

x = np.linspace(-2, 2, 21)
y = np.linspace(-2, 2, 21)
X, Y = np.meshgrid(x, y)
U = -Y + 0.3 * X
V = X + 0.3 * Y
speed = np.hypot(U, V)

fig, ax = plt.subplots(figsize=(6.5, 6))
q = ax.quiver(X, Y, U, V, speed, cmap='plasma', angles='xy', pivot='mid')
ax.quiverkey(q, X=0.85, Y=1.03, U=2, label='2 m/s', labelpos='E')
fig.colorbar(q, ax=ax, label='speed')
ax.set_aspect('equal')
ax.set_title('Spiral vector field (quiver)', pad=20)
plt.show()
