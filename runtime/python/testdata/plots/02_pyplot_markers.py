import numpy as np
import matplotlib.pyplot as plt

x = np.arange(1, 11)

plt.figure(figsize=(8, 5))
plt.plot(x, x ** 1.5, 'o-', label='power 1.5')
plt.plot(x, 3 * np.sqrt(x) + 5, 's--', label='sqrt', markersize=6)
plt.plot(x, 20 * np.log(x + 1) - 5, '^:', label='log', markerfacecolor='white')
plt.plot(x, 0.3 * x ** 2, 'd-.', label='quadratic', alpha=0.8)
plt.title('Growth curves (pyplot interface)')
plt.xlabel('x')
plt.ylabel('f(x)')
plt.xticks(x)
plt.legend()
plt.grid(linestyle=':', linewidth=0.8)
plt.show()
