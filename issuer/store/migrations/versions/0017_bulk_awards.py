"""bulk awards

Issue 19 (bulk award from existing records): a coordinator uploads sign-off records held on
paper or in another system; a job records them as confirmations and issues every complete
level. `bulk_award_jobs` keeps each upload and how far it got; a confirmation says whether it
was imported, by whom and by which job, so its credential's evidence can say so.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bulk_award_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coordinator_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("csv", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("done", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("confirmations", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["coordinator_id"],
            ["users.id"],
            name=op.f("fk_bulk_award_jobs_coordinator_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_award_jobs")),
    )
    with op.batch_alter_table("bulk_award_jobs") as batch:
        batch.create_index("ix_bulk_award_jobs_status", ["status", "updated_at"], unique=False)
    with op.batch_alter_table("confirmations") as batch:
        batch.add_column(sa.Column("imported_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("import_job_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_confirmations_imported_by_id_users"), "users", ["imported_by_id"], ["id"]
        )
        batch.create_foreign_key(
            batch.f("fk_confirmations_import_job_id_bulk_award_jobs"),
            "bulk_award_jobs",
            ["import_job_id"],
            ["id"],
        )
        batch.create_index(
            batch.f("ix_confirmations_import_job_id"), ["import_job_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("confirmations") as batch:
        batch.drop_index(batch.f("ix_confirmations_import_job_id"))
        batch.drop_constraint(
            batch.f("fk_confirmations_import_job_id_bulk_award_jobs"), type_="foreignkey"
        )
        batch.drop_constraint(batch.f("fk_confirmations_imported_by_id_users"), type_="foreignkey")
        batch.drop_column("import_job_id")
        batch.drop_column("imported_by_id")
    with op.batch_alter_table("bulk_award_jobs") as batch:
        batch.drop_index("ix_bulk_award_jobs_status")
    op.drop_table("bulk_award_jobs")
