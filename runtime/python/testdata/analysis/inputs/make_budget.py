# Writes budget.xlsx, the spreadsheet "uploaded" for the read_excel snippets, as a finance team's
# workbook would look: a title above the header, real dates, a total row and a second sheet.
# The differential test runs this with the native Python and openpyxl, and gives the same file
# to both sides.
import datetime

from openpyxl import Workbook
from openpyxl.styles import Font

wb = Workbook()
ws = wb.active
ws.title = "Budget"
ws["A1"] = "FY2024 budget vs actual (EUR)"
ws["A1"].font = Font(bold=True, size=14)
ws.append([])
ws.append(["Department", "Month", "Planned", "Actual", "Owner"])
plan = {"Marketing": 12000, "Engineering": 48000, "Sales": 20500, "Support": 9000.5}
owners = {"Marketing": "L. Novak", "Engineering": "H. Tanaka", "Sales": "G. Lee", "Support": None}
actual_factor = [0.93, 1.07, 1.0, 0.88, 1.12, 0.97]
for m in range(1, 7):
    for i, (dept, p) in enumerate(plan.items()):
        a = round(p * actual_factor[(m + i) % 6], 2)
        if dept == "Support" and m == 4:
            a = None
        ws.append([dept, datetime.datetime(2024, m, 1), p, a, owners[dept]])
for row in ws.iter_rows(min_row=4, min_col=2, max_col=2):
    for c in row:
        c.number_format = "yyyy-mm"
ws.append(["Total", None, sum(plan.values()) * 6, None, None])

hc = wb.create_sheet("Headcount")
hc.append(["Department", "Q1", "Q2", "Remote share"])
hc.append(["Marketing", 6, 7, 0.5])
hc.append(["Engineering", 21, 24, 0.75])
hc.append(["Sales", 11, 11, 0.25])
hc.append(["Support", 8, 9, 1 / 3])
wb.save("budget.xlsx")
