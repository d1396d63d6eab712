import numpy as np
import matplotlib.pyplot as plt

x = np.linspace(-3, 3, 70)
y = np.linspace(-3, 3, 70)
X, Y = np.meshgrid(x, y)
Z = np.exp(-(X ** 2 + Y ** 2)) - 0.6 * np.exp(-((X - 1.2) ** 2 + (Y + 0.8) ** 2) * 2)

fig, ax = plt.subplots(figsize=(6.5, 5.5))
im = ax.imshow(Z, origin='lower', extent=[x.min(), x.max(), y.min(), y.max()],
               cmap='magma', interpolation='bilinear')
fig.colorbar(im, ax=ax, label='intensity', shrink=0.9)
ax.set_xlabel('x')
ax.set_ylabel('y')
ax.set_title('imshow of a 2-D field')
