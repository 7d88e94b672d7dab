"""The person's data rights: export everything Clone holds about them, and delete it.

This layer sits above the three apps (``data_rights -> predictions -> memories -> recording ->
clone_server``): it is the one place that knows every app's tables, so nothing beneath it has
to import upward.
"""
