"""admin API: roles of clients (client_credentials tokens at /admin/api)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('client_roles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('granted_by', sa.String(length=100), nullable=False),
    sa.Column('granted_at', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.client_id'], name=op.f('fk_client_roles_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_roles')),
    sa.UniqueConstraint('client_id', 'role', name=op.f('uq_client_roles_client_id'))
    )
    with op.batch_alter_table('client_roles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_roles_client_id'), ['client_id'], unique=False)


def downgrade():
    with op.batch_alter_table('client_roles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_roles_client_id'))

    op.drop_table('client_roles')
