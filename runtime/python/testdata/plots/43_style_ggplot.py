import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(43)
categories = ['A', 'B', 'C', 'D', 'E']

with plt.style.context('ggplot'):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    axes[0].bar(categories, rng.integers(5, 30, len(categories)))
    axes[0].set_title('Counts per category')
    x = rng.normal(size=200)
    axes[1].scatter(x, 2 * x + rng.normal(size=200), alpha=0.7)
    axes[1].set_title('Linear relationship')
    axes[1].set_xlabel('x')
    axes[1].set_ylabel('y')
    fig.suptitle("plt.style.context('ggplot')")
    fig.tight_layout()
