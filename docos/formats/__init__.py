"""Date, time and number formats of the languages DocOS speaks (settings.FORMAT_MODULE_PATH).

India writes dates day first (04/12/2026), so a date typed as 04/12/2026 must mean 4 December,
never 12 April: the input formats here accept day-first dates (and ISO, which Django always adds
for <input type="date">), and no month-first form at all. Amounts group in lakhs and crores
(1,23,45,678). A language added later (Tamil, Telugu, ...) copies en_IN's module.
"""
