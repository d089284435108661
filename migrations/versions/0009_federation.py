"""regional identity providers (upstreams) and the accounts linked to them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('upstreams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('client_secret_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('auth_method', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=255), nullable=False),
    sa.Column('claim_map', sa.JSON(), nullable=False),
    sa.Column('acr_map', sa.JSON(), nullable=False),
    sa.Column('max_level', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upstreams')),
    sa.UniqueConstraint('slug', name=op.f('uq_upstreams_slug'))
    )
    op.create_table('upstream_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('upstream_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('last_login_at', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['upstream_id'], ['upstreams.id'], name=op.f('fk_upstream_links_upstream_id_upstreams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_upstream_links_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upstream_links')),
    sa.UniqueConstraint('upstream_id', 'subject', name='uq_upstream_links_subject'),
    sa.UniqueConstraint('upstream_id', 'user_id', name='uq_upstream_links_user')
    )
    with op.batch_alter_table('upstream_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upstream_links_upstream_id'), ['upstream_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_upstream_links_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('upstream_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upstream_links_user_id'))
        batch_op.drop_index(batch_op.f('ix_upstream_links_upstream_id'))

    op.drop_table('upstream_links')
    op.drop_table('upstreams')
