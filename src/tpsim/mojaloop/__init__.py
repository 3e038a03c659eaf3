"""The Mojaloop Third Party API dialect: wire models and routes, roles, the switch's parts."""

# Every Message is journaled as Mojaloop's: the reader registers itself with the journal
# when the package is first imported, before any Message can exist.
from tpsim.mojaloop import correlation as correlation
