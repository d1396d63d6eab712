import pandas as pd
import matplotlib.pyplot as plt

energy = pd.Series({'Heating': 42, 'Hot water': 17, 'Appliances': 21,
                    'Lighting': 8, 'Cooking': 7, 'Other': 5}, name='')

ax = energy.plot.pie(figsize=(7, 7), autopct='%1.0f%%', startangle=90,
                     counterclock=False, colormap='tab20c',
                     wedgeprops={'linewidth': 1, 'edgecolor': 'white'})
ax.set_title('Household energy use')
ax.set_ylabel('')
