import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

rng = np.random.default_rng(68)
n = 4000
trips = pd.DataFrame({'distance_km': rng.gamma(2.0, 3.0, n)})
trips['duration_min'] = 4 + 2.2 * trips['distance_km'] + rng.normal(0, 4, n)
trips['fare'] = 3 + 1.1 * trips['distance_km'] + rng.normal(0, 1, n)

ax = trips.plot.hexbin(x='distance_km', y='duration_min', C='fare', reduce_C_function=np.mean,
                       gridsize=30, cmap='YlGnBu', figsize=(8, 6))
ax.set_title('Taxi trips: mean fare by distance and duration')
plt.show()
