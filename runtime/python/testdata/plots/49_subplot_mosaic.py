import numpy as np
import matplotlib.pyplot as plt

rng = np.random.default_rng(49)
mosaic = """
AAB
AAC
DDD
"""
fig, axd = plt.subplot_mosaic(mosaic, figsize=(10, 7), layout='constrained')

img = rng.random((20, 20)).cumsum(axis=0)
axd['A'].imshow(img, cmap='cividis')
axd['A'].set_title('A: image')
axd['B'].pie([3, 2, 1], labels=['x', 'y', 'z'])
axd['B'].set_title('B: pie')
axd['C'].bar(['p', 'q', 'r'], [4, 7, 2], color='C1')
axd['C'].set_title('C: bar')
t = np.linspace(0, 20, 400)
axd['D'].plot(t, np.sin(t) * np.exp(-t / 10))
axd['D'].set_title('D: time series')
fig.suptitle('subplot_mosaic layout')
