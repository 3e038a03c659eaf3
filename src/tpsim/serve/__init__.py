"""The only aiohttp code: the app mounting every dialect, the FSPIOP edge, the switch's
router and transports, the admin API, the PSU pages, the wall clock."""
