import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

rng = np.random.default_rng(84)
n = 2000
x = rng.normal(0, 1, n)
df = pd.DataFrame({'study_hours': 5 + 2 * x,
                   'exam_score': 65 + 8 * x + rng.normal(0, 6, n)})

with sns.axes_style('white'):
    g = sns.jointplot(data=df, x='study_hours', y='exam_score', kind='hex',
                      color='#4c72b0', height=6, marginal_kws={'bins': 30})
    g.set_axis_labels('Study hours per week', 'Exam score')
    g.figure.suptitle('Study time vs exam score (jointplot, hex)')
    g.figure.subplots_adjust(top=0.93)
