import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(45)

with plt.style.context('bmh'):
    fig, ax = plt.subplots(figsize=(8, 5))
    for a, b in [(2, 5), (5, 5), (8, 3), (1, 1)]:
        samples = rng.beta(a, b, 1000)
        ax.hist(samples, bins=30, histtype='stepfilled', alpha=0.5, density=True,
                label=fr'$\alpha={a},\ \beta={b}$')
    ax.set_title('Beta distribution samples (bmh style)')
    ax.set_xlabel('p')
    ax.legend()
