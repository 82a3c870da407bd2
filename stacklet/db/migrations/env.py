"""Alembic environment: migrations run on the connection Stacklet hands over."""

from alembic import context

import stacklet.models  # noqa: F401  (registers every service's tables)
from stacklet.db import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
