import pandas as pd
import matplotlib.pyplot as plt

survey = pd.DataFrame({
    'Strongly disagree': [5, 8, 3, 12, 6],
    'Disagree': [10, 15, 7, 20, 9],
    'Neutral': [20, 22, 15, 25, 18],
    'Agree': [40, 35, 45, 28, 42],
    'Strongly agree': [25, 20, 30, 15, 25],
}, index=['Work-life balance', 'Compensation', 'Team', 'Career growth', 'Management'])

colors = ['#ca0020', '#f4a582', '#d9d9d9', '#92c5de', '#0571b0']
ax = survey.plot(kind='barh', stacked=True, color=colors, figsize=(10, 5), width=0.7)
ax.set_xlabel('Share of responses (%)')
ax.set_xlim(0, 100)
ax.invert_yaxis()
ax.legend(loc='lower center', bbox_to_anchor=(0.5, 1.0), ncol=5, frameon=False, fontsize=9)
ax.set_title('Employee survey (stacked barh)', pad=30)
plt.tight_layout()
plt.show()
