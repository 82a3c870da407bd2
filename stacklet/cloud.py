"""The pieces one Stacklet process shares: configuration, database, policy, tokens."""

from __future__ import annotations

import socket

from stacklet.bus import LocalBus
from stacklet.common.policy import PolicyEnforcer
from stacklet.config import Config
from stacklet.db import Database
from stacklet.identity.compliance import PasswordRules
from stacklet.identity.fernet import KeyRepository
from stacklet.identity.passwords import hash_secret
from stacklet.identity.tokens import TokenService
from stacklet.image.store import ImageStore
from stacklet.network.compute_ports import NeutronPorts
from stacklet.services import SERVICES


class Cloud:
    def __init__(self, config: Config):
        self.config = config
        self.host = socket.gethostname()
        self.db = Database(config.database_url)
        self.keys = KeyRepository(config.fernet_key_dir,
                                  config.get("identity", "max_active_keys"))
        # Credential blobs are encrypted at rest with keys of their own, as in Keystone.
        self.credential_keys = KeyRepository(config.credential_key_dir)
        self.tokens = TokenService(
            self.db, self.keys,
            expiration=config.get("identity", "token_expiration"),
            allow_expired_window=config.get("identity", "allow_expired_window"),
            cache_size=config.get("identity", "token_cache_size"))
        self.password_rules = PasswordRules.from_config(config)
        self.image_store = ImageStore(
            config.image_store_dir,
            require_format_match=config.get("image", "require_image_format_match"))
        # Compute's messages, and its view of ports: the network service's.
        self.bus = LocalBus()
        self.ports = NeutronPorts(self)
        # The whole ASGI app, once create_app made it: services call each
        # other's APIs through it (stacklet.common.internal).
        self.asgi_app = None
        # Drivers of this machine's compute hosts, for what the API reads from a
        # host itself (console logs, diagnostics); made on first use.
        self.local_drivers: dict = {}
        # This host's network agents (stacklet.network.agent.runtime), once the
        # app's lifespan started them: what compute asks why a port is not wired.
        self.network_agents = None
        # Where the compute metadata service answers the network's proxies, once
        # it listens (a test's port 0 becomes a real one).
        self.metadata_url: str | None = None
        self.policy = PolicyEnforcer(
            config.policy_file, [rule for s in SERVICES for rule in s.policy_rules()])

    def hash_password(self, password: str) -> str:
        return hash_secret(password, self.config.get("identity", "password_hash_rounds"))

    def close(self) -> None:
        self.db.dispose()
