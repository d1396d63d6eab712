import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

rng = np.random.default_rng(80)
parts = []
for name, mean in [('setosa', [5.0, 3.4, 1.5, 0.25]),
                   ('versicolor', [5.9, 2.8, 4.3, 1.3]),
                   ('virginica', [6.6, 3.0, 5.6, 2.0])]:
    block = pd.DataFrame(rng.normal(mean, [0.35, 0.3, 0.3, 0.15], size=(40, 4)),
                         columns=['sepal_length', 'sepal_width', 'petal_length', 'petal_width'])
    block['species'] = name
    parts.append(block)
iris = pd.concat(parts, ignore_index=True)

g = sns.pairplot(iris, vars=['sepal_length', 'petal_length', 'petal_width'], hue='species',
                 kind='scatter', diag_kind='hist', plot_kws={'s': 15, 'alpha': 0.7}, height=2.4)
g.figure.suptitle('Pairwise relationships (synthetic iris)')
g.figure.subplots_adjust(top=0.93)
