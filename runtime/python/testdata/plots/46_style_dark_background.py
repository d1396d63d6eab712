import numpy as np
import matplotlib.pyplot as plt

t = np.linspace(0, 2 * np.pi, 1000)

with plt.style.context('dark_background'):
    fig, ax = plt.subplots(figsize=(7, 7))
    for k, color in zip(range(1, 6), ['cyan', 'magenta', 'yellow', 'lime', 'orange']):
        ax.plot(np.sin(k * t + np.pi / 4), np.sin((k + 1) * t), color=color,
                lw=1.2, alpha=0.8, label=f'{k}:{k + 1}')
    ax.set_aspect('equal')
    ax.set_title('Lissajous figures on a dark background')
    ax.legend(loc='upper right', fontsize=8, title='ratio')
    ax.axis('off')
plt.show()
