# Importing ``clone_server.errors`` before DRF's views closes an import cycle through the
# configured parser (errors -> rest_framework.views -> parsers -> errors); load DRF first.
import rest_framework.views  # noqa: F401
