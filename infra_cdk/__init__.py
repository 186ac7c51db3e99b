"""The CDK app that creates the regional CodeArtifact repositories and the publishing pipeline.

It is a package only so that ``tests/infra`` can import the stacks; ``cdk`` runs ``app.py``.
"""
