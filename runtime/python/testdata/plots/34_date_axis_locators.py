import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import matplotlib.dates as mdates

rng = np.random.default_rng(31)
dates = pd.date_range('2024-01-01', '2024-12-31', freq='D')
price = 100 + np.cumsum(rng.normal(0.05, 1.2, dates.size))

fig, ax = plt.subplots(figsize=(10, 4.5))
ax.plot(dates, price, lw=1.2, color='navy')
ax.xaxis.set_major_locator(mdates.MonthLocator())
ax.xaxis.set_major_formatter(mdates.DateFormatter('%b'))
ax.xaxis.set_minor_locator(mdates.WeekdayLocator(byweekday=mdates.MO))
ax.set_xlim(dates[0], dates[-1])
ax.grid(which='major', axis='x', alpha=0.4)
ax.set_ylabel('Price (USD)')
ax.set_title('Daily closing price, 2024 (synthetic)')
ax.annotate('year high', xy=(dates[price.argmax()], price.max()),
            xytext=(0, 25), textcoords='offset points', ha='center',
            arrowprops=dict(arrowstyle='->'))
fig.autofmt_xdate(rotation=0, ha='center')
