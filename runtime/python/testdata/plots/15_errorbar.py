import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(8)
dose = np.array([0.5, 1, 2, 4, 8, 16])
response = 100 * dose / (dose + 3) + rng.normal(0, 2, dose.size)
yerr = rng.uniform(2, 6, dose.size)
xerr = 0.1 * dose

fig, ax = plt.subplots(figsize=(7, 5))
ax.errorbar(dose, response, yerr=yerr, xerr=xerr, fmt='o', color='darkred',
            ecolor='gray', elinewidth=1.2, capsize=4, label='measured')
xs = np.linspace(0.3, 18, 200)
ax.plot(xs, 100 * xs / (xs + 3), color='black', lw=1, label='model')
ax.set_xlabel('Dose (mg)')
ax.set_ylabel('Response (%)')
ax.set_title('Dose–response with error bars')
ax.legend()
plt.show()
