import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

rng = np.random.default_rng(60)
df = pd.DataFrame({
    'Model A': rng.normal(0.82, 0.03, 50),
    'Model B': rng.normal(0.85, 0.02, 50),
    'Model C': rng.normal(0.79, 0.05, 50),
    'Model D': rng.normal(0.86, 0.015, 50),
})

ax = df.plot(kind='box', figsize=(8, 5), grid=True, patch_artist=True,
             boxprops=dict(facecolor='lightyellow'),
             medianprops=dict(color='darkred', linewidth=2))
ax.set_ylabel('Cross-validated accuracy')
ax.set_title('Model comparison over 50 CV folds')
plt.show()
