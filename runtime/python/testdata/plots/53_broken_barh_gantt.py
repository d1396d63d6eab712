import matplotlib.pyplot as plt

tasks = {
    'Design': [(0, 5)],
    'Backend': [(4, 10), (16, 3)],
    'Frontend': [(7, 8), (17, 4)],
    'Testing': [(12, 3), (20, 5)],
    'Release': [(25, 2)],
}
colors = ['#4c72b0', '#55a868', '#c44e52', '#8172b2', '#ccb974']

fig, ax = plt.subplots(figsize=(10, 4.5))
for i, ((name, spans), color) in enumerate(zip(tasks.items(), colors)):
    ax.broken_barh(spans, (i * 10 + 2, 6), facecolors=color, edgecolor='black')
ax.set_yticks([i * 10 + 5 for i in range(len(tasks))], labels=list(tasks))
ax.invert_yaxis()
ax.set_xlim(0, 28)
ax.set_xlabel('Project day')
ax.grid(axis='x', linestyle='--', alpha=0.5)
ax.axvline(14, color='red', lw=1)
ax.text(14.3, -1, 'milestone', color='red', va='bottom')
ax.set_title('Project schedule (broken_barh Gantt chart)', pad=18)
fig.tight_layout()
