"""Poetry application plugin: ``poetry publish-multiregion``."""
