"""ports: the server compute plugged each into

Revision ID: 3c1f0e9a7b52
Revises: eb9f52019ce1
Create Date: 2026-12-07 21:10:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = '3c1f0e9a7b52'
down_revision = 'eb9f52019ce1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('network_ports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plugged_server_id', sa.String(length=255), nullable=True))
    # Ports compute made were plugged by it; of the ports users brought, which
    # ones compute plugged was not recorded: they keep counting when they are
    # of their server's project.
    ports = sa.table('network_ports', sa.column('device_id', sa.String),
                     sa.column('device_owner', sa.String),
                     sa.column('compute_managed', sa.Boolean),
                     sa.column('plugged_server_id', sa.String))
    op.execute(ports.update()
               .where(ports.c.compute_managed.is_(True),
                      ports.c.device_owner.like('compute:%'))
               .values(plugged_server_id=ports.c.device_id))


def downgrade() -> None:
    with op.batch_alter_table('network_ports', schema=None) as batch_op:
        batch_op.drop_column('plugged_server_id')
