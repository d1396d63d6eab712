import numpy as np
import matplotlib.pyplot as plt

n = np.arange(0, 32)
h = np.sinc((n - 15.5) / 4) * np.hamming(n.size)

plt.figure(figsize=(9, 4.5))
markerline, stemlines, baseline = plt.stem(n, h, linefmt='C0-', markerfmt='C0o',
                                           basefmt='k-')
plt.setp(stemlines, linewidth=1)
plt.setp(markerline, markersize=5)
plt.xlabel('tap index n')
plt.ylabel('h[n]')
plt.title('FIR low-pass filter taps (stem plot)')
plt.grid(True, alpha=0.3)
plt.tight_layout()
