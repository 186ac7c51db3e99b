"""The network layer: HTTP to package indexes, with deadlines, limits and URL trust.

Transport (connection pools whose every request has an overall deadline), the multipart
upload body, one PEP 503 index (list, upload, download) and the health probe. It knows
nothing of AWS: an index is a URL and a token.
"""
