import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

rng = np.random.default_rng(66)
n = 600
houses = pd.DataFrame({
    'price_k': rng.lognormal(5.8, 0.35, n),
    'area_m2': rng.normal(110, 30, n).clip(30),
    'rooms': rng.integers(1, 7, n),
    'age_years': rng.exponential(25, n),
})

axes = houses.hist(bins=25, figsize=(10, 7), color='teal', edgecolor='white', grid=False)
plt.suptitle('Distributions of housing features (DataFrame.hist)')
plt.tight_layout()
plt.show()
