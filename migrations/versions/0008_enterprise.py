"""enterprises, their appointments and third-party authorisations; tokens acting for one

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:09:39

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('enterprises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('entity_type', sa.String(length=60), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('status_reason', sa.String(length=500), nullable=True),
    sa.Column('legal_representative_id', sa.Integer(), nullable=True),
    sa.Column('verification', sa.String(length=10), nullable=False),
    sa.Column('verified_at', sa.Integer(), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['legal_representative_id'], ['users.id'], name=op.f('fk_enterprises_legal_representative_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprises')),
    sa.UniqueConstraint('credit_code', name=op.f('uq_enterprises_credit_code'))
    )
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enterprises_legal_representative_id'), ['legal_representative_id'], unique=False)

    op.create_table('enterprise_appointments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('matters', sa.JSON(), nullable=True),
    sa.Column('starts_at', sa.BigInteger(), nullable=False),
    sa.Column('ends_at', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('appointed_by', sa.String(length=100), nullable=False),
    sa.Column('appointed_as', sa.String(length=30), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('accepted_at', sa.Integer(), nullable=True),
    sa.Column('ended_at', sa.Integer(), nullable=True),
    sa.Column('ended_by', sa.String(length=100), nullable=True),
    sa.Column('end_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_enterprise_appointments_enterprise_id_enterprises'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['granted_by_id'], ['enterprise_appointments.id'], name=op.f('fk_enterprise_appointments_granted_by_id_enterprise_appointments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_enterprise_appointments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprise_appointments'))
    )
    with op.batch_alter_table('enterprise_appointments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enterprise_appointments_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enterprise_appointments_granted_by_id'), ['granted_by_id'], unique=False)
        batch_op.create_index('ix_enterprise_appointments_user_status', ['user_id', 'status'], unique=False)

    op.create_table('enterprise_authorisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('principal_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('matters', sa.JSON(), nullable=True),
    sa.Column('starts_at', sa.BigInteger(), nullable=False),
    sa.Column('ends_at', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('granted_by', sa.String(length=100), nullable=False),
    sa.Column('granted_as', sa.String(length=30), nullable=False),
    sa.Column('granted_by_appointment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.Integer(), nullable=False),
    sa.Column('ended_at', sa.Integer(), nullable=True),
    sa.Column('ended_by', sa.String(length=100), nullable=True),
    sa.Column('end_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['enterprises.id'], name=op.f('fk_enterprise_authorisations_agent_id_enterprises'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['granted_by_appointment_id'], ['enterprise_appointments.id'], name=op.f('fk_enterprise_authorisations_granted_by_appointment_id_enterprise_appointments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['principal_id'], ['enterprises.id'], name=op.f('fk_enterprise_authorisations_principal_id_enterprises'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprise_authorisations'))
    )
    with op.batch_alter_table('enterprise_authorisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enterprise_authorisations_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enterprise_authorisations_granted_by_appointment_id'), ['granted_by_appointment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enterprise_authorisations_principal_id'), ['principal_id'], unique=False)

    with op.batch_alter_table('oauth_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acting_for', sa.String(length=18), nullable=True))
        batch_op.add_column(sa.Column('acting', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_oauth_tokens_acting_for'), ['acting_for'], unique=False)



def downgrade():
    with op.batch_alter_table('oauth_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_tokens_acting_for'))
        batch_op.drop_column('acting')
        batch_op.drop_column('acting_for')

    with op.batch_alter_table('enterprise_authorisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enterprise_authorisations_principal_id'))
        batch_op.drop_index(batch_op.f('ix_enterprise_authorisations_granted_by_appointment_id'))
        batch_op.drop_index(batch_op.f('ix_enterprise_authorisations_agent_id'))

    op.drop_table('enterprise_authorisations')
    with op.batch_alter_table('enterprise_appointments', schema=None) as batch_op:
        batch_op.drop_index('ix_enterprise_appointments_user_status')
        batch_op.drop_index(batch_op.f('ix_enterprise_appointments_granted_by_id'))
        batch_op.drop_index(batch_op.f('ix_enterprise_appointments_enterprise_id'))

    op.drop_table('enterprise_appointments')
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enterprises_legal_representative_id'))

    op.drop_table('enterprises')
