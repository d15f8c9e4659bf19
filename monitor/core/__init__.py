"""The sans-IO core: stdlib only, no clock, no sockets, no logging.

Time always comes in as an argument (``now``/``at``, aware datetimes, UTC inside).
"""
