import numpy as np
import matplotlib.pyplot as plt
from matplotlib.ticker import StrMethodFormatter, MaxNLocator, AutoMinorLocator

rng = np.random.default_rng(13)
epochs = np.arange(1, 24)
loss = 2.5 * np.exp(-epochs / 6) + 0.15 + rng.normal(0, 0.03, epochs.size)
val_loss = 2.5 * np.exp(-epochs / 7) + 0.25 + rng.normal(0, 0.05, epochs.size)

fig, ax = plt.subplots(figsize=(8, 5))
ax.plot(epochs, loss, label='train')
ax.plot(epochs, val_loss, label='validation')
ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
ax.yaxis.set_major_formatter(StrMethodFormatter('{x:.2f}'))
ax.yaxis.set_minor_locator(AutoMinorLocator())
ax.set_xlabel('epoch')
ax.set_ylabel('loss')
ax.set_title('Training curves')
ax.legend()
ax.grid(which='major', alpha=0.5)
ax.grid(which='minor', alpha=0.15)
plt.show()
