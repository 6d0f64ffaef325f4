"""record actions, their runs per system, downstream notices, suppression entries and
desk-wide settings

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("needs_approval", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("executed_by", sa.String(length=100), nullable=True),
        sa.Column("executed_at", sa.DateTime(), nullable=True),
        sa.Column("verified_by", sa.String(length=100), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("running_by", sa.String(length=100), nullable=True),
        sa.Column("running_since", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=False),
        sa.Column("rows_planned", sa.Integer(), nullable=False),
        sa.Column("rows_changed", sa.Integer(), nullable=False),
        sa.Column("request_json", sa.Text(), nullable=False),
        sa.Column("plan_json", sa.Text(), nullable=False),
        sa.Column("result_json", sa.Text(), nullable=False),
        sa.Column("verification_json", sa.Text(), nullable=False),
        # The one who proposed an action never approves it (the service says so first).
        sa.CheckConstraint("approved_by IS NULL OR approved_by <> requested_by",
                           name=op.f("ck_record_actions_approver_not_requester")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_record_actions_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_actions")),
        sa.UniqueConstraint("token", name=op.f("uq_record_actions_token")),
    )
    op.create_index(op.f("ix_record_actions_case_id"), "record_actions", ["case_id"])
    op.create_table(
        "record_action_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("rows_changed", sa.Integer(), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("run_by", sa.String(length=100), nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["action_id"], ["record_actions.id"],
                                name=op.f("fk_record_action_runs_action_id_record_actions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_action_runs")),
    )
    op.create_index(op.f("ix_record_action_runs_action_id"), "record_action_runs",
                    ["action_id"])
    op.create_table(
        "downstream_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("recipient_key", sa.String(length=100), nullable=False),
        sa.Column("recipient_name", sa.String(length=300), nullable=False),
        sa.Column("recipient_kind", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("postal_address", sa.Text(), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("systems", sa.Text(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("sent_by", sa.String(length=100), nullable=True),
        sa.Column("sent_how", sa.String(length=100), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("answered_by", sa.String(length=100), nullable=True),
        sa.Column("answer_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["action_id"], ["record_actions.id"],
                                name=op.f("fk_downstream_notices_action_id_record_actions"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_downstream_notices_case_id_cases"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"],
                                name=op.f("fk_downstream_notices_task_id_tasks"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_downstream_notices")),
    )
    op.create_index(op.f("ix_downstream_notices_case_id"), "downstream_notices", ["case_id"])
    op.create_table(
        "suppression_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("case_ref", sa.String(length=20), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["action_id"], ["record_actions.id"],
                                name=op.f("fk_suppression_entries_action_id_record_actions"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_suppression_entries_case_id_cases"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression_entries")),
        sa.UniqueConstraint("hash", "case_id", name="uq_suppression_entries_hash"),
    )
    op.create_index(op.f("ix_suppression_entries_hash"), "suppression_entries", ["hash"])
    op.create_table(
        "desk_settings",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_desk_settings")),
    )


def downgrade() -> None:
    op.drop_table("desk_settings")
    op.drop_index(op.f("ix_suppression_entries_hash"), table_name="suppression_entries")
    op.drop_table("suppression_entries")
    op.drop_index(op.f("ix_downstream_notices_case_id"), table_name="downstream_notices")
    op.drop_table("downstream_notices")
    op.drop_index(op.f("ix_record_action_runs_action_id"), table_name="record_action_runs")
    op.drop_table("record_action_runs")
    op.drop_index(op.f("ix_record_actions_case_id"), table_name="record_actions")
    op.drop_table("record_actions")
