"""documents: archive records, prints, number blocks and series, block cursors, voided numbers, issuer keys

Revision ID: 0007_documents
Revises: 0001
Create Date: 2026-11-28 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_documents"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("documents",)
depends_on: str | Sequence[str] | None = None


def _synced(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("hlc", sa.String(length=96), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("doc_type", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=120), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("party", sa.String(length=400), nullable=False),
        sa.Column("case_ref", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("byte_size", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        *_synced("documents"),
    )
    op.create_index("uq_documents_type_number", "documents", ["doc_type", "number"], unique=True)
    op.create_table(
        "document_prints",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("copy_no", sa.Integer(), nullable=False),
        sa.Column("printer", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_document_prints_document_id_documents")
        ),
        *_synced("document_prints"),
    )
    op.create_index("uq_document_prints_copy", "document_prints", ["document_id", "copy_no"], unique=True)
    op.create_table(
        "number_blocks",
        sa.Column("doc_type", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("workstation", sa.String(length=64), nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        *_synced("number_blocks"),
    )
    op.create_index("uq_number_blocks_start", "number_blocks", ["doc_type", "year", "start"], unique=True)
    op.create_table(
        "number_series",
        sa.Column("doc_type", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_end", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("doc_type", "year", name=op.f("pk_number_series")),
    )
    op.create_table(
        "number_block_cursors",
        sa.Column("block_id", sa.Uuid(), nullable=False),
        sa.Column("doc_type", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("next_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("block_id", name=op.f("pk_number_block_cursors")),
    )
    op.create_table(
        "voided_numbers",
        sa.Column("doc_type", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        *_synced("voided_numbers"),
    )
    op.create_index("uq_voided_numbers_seq", "voided_numbers", ["doc_type", "year", "seq"], unique=True)
    op.create_table(
        "issuer_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("issuer_code", sa.String(length=64), nullable=False),
        sa.Column("issuer_name", sa.String(length=200), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_synced("issuer_keys"),
        sa.UniqueConstraint("key_id", name=op.f("uq_issuer_keys_key_id")),
    )


def downgrade() -> None:
    op.drop_table("issuer_keys")
    op.drop_index("uq_voided_numbers_seq", table_name="voided_numbers")
    op.drop_table("voided_numbers")
    op.drop_table("number_block_cursors")
    op.drop_table("number_series")
    op.drop_index("uq_number_blocks_start", table_name="number_blocks")
    op.drop_table("number_blocks")
    op.drop_index("uq_document_prints_copy", table_name="document_prints")
    op.drop_table("document_prints")
    op.drop_index("uq_documents_type_number", table_name="documents")
    op.drop_table("documents")
