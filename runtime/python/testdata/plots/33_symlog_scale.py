import numpy as np
import matplotlib.pyplot as plt

x = np.linspace(-50, 50, 1001)
y = x ** 3 - 200 * x

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
ax1.plot(x, y, color='teal')
ax1.set_title('linear scale')
ax1.grid(alpha=0.4)

ax2.plot(x, y, color='teal')
ax2.set_yscale('symlog', linthresh=100)
ax2.set_xscale('symlog', linthresh=1)
ax2.set_title('symlog scale (linthresh = 100 on y)')
ax2.grid(alpha=0.4, which='both')
for ax in (ax1, ax2):
    ax.set_xlabel('x')
ax1.set_ylabel(r'$x^3 - 200x$')
fig.tight_layout()
plt.show()
