# Parsing free-form dates with dateutil, time-zone math with pytz and zoneinfo, relativedelta.
import datetime as dt
from zoneinfo import ZoneInfo

import pytz
from dateutil import parser, rrule
from dateutil.relativedelta import relativedelta

for s in ["March 7, 2024 5:30pm", "2024-03-09T14:30:00+01:00", "07/03/24", "Thu, 14 Mar 2024 08:00:00 GMT"]:
    print(parser.parse(s), "|", parser.parse(s, dayfirst=True))
ny = pytz.timezone("America/New_York")
d = ny.localize(dt.datetime(2024, 3, 10, 1, 30))
print(d, ny.normalize(d + dt.timedelta(hours=1)))
print(dt.datetime(2024, 11, 3, 1, 30, tzinfo=ZoneInfo("America/New_York")).utcoffset(),
      dt.datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York")).utcoffset())
print(dt.date(2024, 1, 31) + relativedelta(months=1), relativedelta(dt.date(2024, 12, 25), dt.date(2023, 2, 14)))
print(list(rrule.rrule(rrule.MONTHLY, bymonthday=-1, count=4, dtstart=dt.datetime(2024, 1, 1))))
print(pytz.timezone("Asia/Kathmandu").utcoffset(dt.datetime(2024, 1, 1)), len(pytz.all_timezones) > 500)
