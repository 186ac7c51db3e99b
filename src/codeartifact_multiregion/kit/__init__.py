"""The hosts' kit: what the CLI, the poetry plugin and the hatch publisher share.

Option handling, the run of a command, its rendering (rich for the CLI), and output that
is honest when it cannot be written. Hosts are thin adapters over this package.
"""
