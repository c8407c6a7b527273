"""The lab's tools: they read what nodes leave behind (run directories, genome files,
status replies) and score, compare and show it. The node's runtime (island/) never imports
this package; the lab imports the runtime.
"""
