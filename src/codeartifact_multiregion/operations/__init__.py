"""The operations layer: what a run does, on the layers below.

The engine (sessions, parallel work across regions), the artifacts a release is made of,
publish, status, sync and whole-repository replication, and EventBridge events.
"""
