"""The tokens in force, replaced whole on SIGHUP; a file that does not parse changes nothing."""

from __future__ import annotations

import logging
from pathlib import Path

from execution_server.auth.tokens import AuthConfig, AuthConfigError, load_auth_file

log = logging.getLogger(__name__)


class TokenRegistry:
    """None: open access, fixed for the process's life (turning authentication on or off is a
    restart, checked by the start-up rules; a reload only changes which tokens exist)."""

    def __init__(self, config: AuthConfig | None) -> None:
        self.config = config

    @property
    def is_open(self) -> bool:
        return self.config is None

    def reload(self, path: Path | None) -> bool:
        """Re-read the `[auth]` table of the config file; True when new tokens are in force."""
        if self.config is None:
            log.warning("SIGHUP: access is open (no [auth]); tokens are not reloaded: restart to enable authentication")
            return False
        if path is None:
            log.warning("SIGHUP: no EXECUTION_CONFIG file to reload tokens from; the old tokens stay in force")
            return False
        try:
            config = load_auth_file(path)
        except AuthConfigError as error:
            log.warning("SIGHUP: tokens in %s not reloaded, the old ones stay in force: %s", path, error)
            return False
        if config is None:
            log.warning("SIGHUP: tokens in %s not reloaded, the old ones stay in force: auth: "
                        "cannot be disabled by a reload; restart to run open", path)
            return False
        self.config = config
        log.warning("SIGHUP: %d tokens reloaded from %s", len(config.tokens), path)
        return True
