import numpy as np
import matplotlib.pyplot as plt

x = np.linspace(-3, 3, 400)

fig, ax = plt.subplots(figsize=(7, 6))
ax.plot(x, x ** 3 / 3 - x, lw=2, label=r'$f(x) = x^3/3 - x$')
ax.plot(x, x ** 2 - 1, lw=2, ls='--', label=r"$f'(x) = x^2 - 1$")
ax.spines['left'].set_position('zero')
ax.spines['bottom'].set_position('zero')
ax.spines['right'].set_visible(False)
ax.spines['top'].set_visible(False)
ax.xaxis.set_ticks_position('bottom')
ax.yaxis.set_ticks_position('left')
ax.plot(1, 0, '>k', transform=ax.get_yaxis_transform(), clip_on=False)
ax.plot(0, 1, '^k', transform=ax.get_xaxis_transform(), clip_on=False)
ax.set_ylim(-3, 4)
ax.legend(loc='upper left', frameon=False)
ax.set_title('Function and derivative with centered spines')
