"""The consumers layer: pip and uv settings for the nearest healthy region, with failover.

A sibling of ``operations``: it reads repositories through the AWS and network layers and
never publishes.
"""
