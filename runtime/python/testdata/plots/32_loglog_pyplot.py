import numpy as np
import matplotlib.pyplot as plt

n = np.logspace(1, 6, 30)

plt.figure(figsize=(7, 5.5))
plt.loglog(n, n, label=r'$O(n)$')
plt.loglog(n, n * np.log2(n), label=r'$O(n \log n)$')
plt.loglog(n, n ** 1.5, label=r'$O(n^{1.5})$')
plt.loglog(n, n ** 2, label=r'$O(n^2)$')
plt.grid(True, which='both', linestyle=':', linewidth=0.5)
plt.xlabel('input size n')
plt.ylabel('operations')
plt.title('Complexity classes on log–log axes')
plt.legend()
