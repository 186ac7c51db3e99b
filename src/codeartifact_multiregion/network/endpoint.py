"""An index endpoint: a repository URL and a token that can be fetched anew.

The AWS layer makes these (``aws.resolver``); the network layer uses them without knowing
where the token came from, so an index is only ever a URL and a credential.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from codeartifact_multiregion.base.config import Target


@dataclass
class Endpoint:
    """A target with its repository URL and a token that can be fetched anew."""

    target: Target
    url: str
    domain_owner: str | None
    token: str = field(repr=False)
    _fetch_token: Callable[[], tuple[str, datetime | None]] = field(repr=False)
    # When the current token expires (GetAuthorizationToken's ``expiration``), if known.
    expiration: datetime | None = None

    @property
    def region(self) -> str:
        return self.target.region

    @property
    def simple_url(self) -> str:
        return self.url + "simple/"

    def refresh_token(self) -> str:
        """Fetch a new token; used once when the index answers 401/403."""
        self.token, self.expiration = self._fetch_token()
        return self.token
