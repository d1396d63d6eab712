import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

rng = np.random.default_rng(62)
n = 250
cars = pd.DataFrame({'weight': rng.uniform(900, 2400, n)})
cars['horsepower'] = 0.08 * cars['weight'] + rng.normal(0, 20, n)
cars['mpg'] = 60 - 0.015 * cars['weight'] + rng.normal(0, 3, n)
cars['cylinders'] = np.select([cars['weight'] < 1300, cars['weight'] < 1900], [4, 6], 8)

ax = cars.plot.scatter(x='weight', y='mpg', c='horsepower', colormap='plasma',
                       s=cars['cylinders'] * 5, alpha=0.8, figsize=(8, 6))
ax.set_title('Fuel economy vs weight (size = cylinders)')
ax.set_xlabel('Weight (kg)')
ax.set_ylabel('Miles per gallon')
plt.show()
