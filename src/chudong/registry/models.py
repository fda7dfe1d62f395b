"""Person index and normalised agency data (the contract other features read).

Every row that came from an agency keeps ``source_record_id`` → ``source_record``
(agency, feed, source key, receipt time, raw payload): that is the provenance used
for once-only pre-fill.

Personal ID numbers, phones, e-mail addresses and incomes are sealed at rest
(``chudong.privacy``): the ORM and Core statements see plaintext, the database holds
ciphertext, and equality look-ups go through the ``*_hash`` search-hash columns
(``Person.pid == x`` compares ``pid_hash``). Raw SQL must seal and hash itself.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, false, text)
from sqlalchemy.orm import Mapped, mapped_column

from chudong.db import Base, UTCDateTime
from chudong.privacy.types import Sealed, SealedFields, SealedInt, blind_default, keep_search_hashes

# fields of a normalised agency record that are sealed inside its JSON (name → kind)
# (identifier fields: chudong.kit.pid's contract; ``cmnd`` is the key FHIR records stored before it)
NORMALISED_SEALED = (("pid", "pid"), ("pid_as_sent", "pid"), ("pid_mismatch", "pid"), ("old_id", "pid"),
                     ("pid_unverified", "pid"), ("cmnd", "pid"), ("insurance_no", "insurance"), ("phone", "phone"),
                     ("email", "email"), ("income_per_person", "income"))


class Agency(Base):
    """An agency that sends data (hospital, police, school, utility...) with its API key hash."""

    __tablename__ = "agency"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))  # population, hospital, police, education, health, tourism, agriculture, construction, electricity, water, social_insurance
    api_key_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)


class SourceRecord(Base):
    """One record as received from an agency: raw payload, normalised form, and its link."""

    __tablename__ = "source_record"
    __table_args__ = (UniqueConstraint("feed", "agency_code", "source_key"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    feed: Mapped[str] = mapped_column(String(30))  # persons, households, licences, schools, utilities, births, deaths, ...
    # (this table's and person's foreign keys are checked once per statement on PostgreSQL: SET_BASED_KEYS)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agency.code"))
    source_key: Mapped[str] = mapped_column(String(120))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    content_hash: Mapped[str] = mapped_column(String(64))  # keyed (search key) SHA-256 of the normalised JSON
    raw: Mapped[str] = mapped_column(Sealed("record"))  # sealed: the whole record as received
    normalised: Mapped[dict] = mapped_column(SealedFields(NORMALISED_SEALED))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True, nullable=True)
    link_method: Mapped[str | None] = mapped_column(String(20), nullable=True)  # pid, probabilistic, review, none
    link_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    # the last ingest run that wrote this record (post-processing of a run: linkage, conflicts)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_run.id"), index=True, nullable=True)


class Person(Base):
    """One person of the index; fields as the population registry has them."""

    __tablename__ = "person"
    # search hashes are looked up by value; most persons have no e-mail (and some no phone)
    __table_args__ = (
        Index("ix_person_phone_hash", "phone_hash", postgresql_where=text("phone_hash IS NOT NULL"),
              sqlite_where=text("phone_hash IS NOT NULL")),
        Index("ix_person_email_hash", "email_hash", postgresql_where=text("email_hash IS NOT NULL"),
              sqlite_where=text("email_hash IS NOT NULL")),
        Index("ix_person_old_id_hash", "old_id_hash", postgresql_where=text("old_id_hash IS NOT NULL"),
              sqlite_where=text("old_id_hash IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    pid: Mapped[str | None] = mapped_column(Sealed("pid", blind="pid_hash"), nullable=True)  # CCCD, 12 digits
    pid_hash: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True,
                                                 default=blind_default("pid", "pid"))
    # the old identity card number (CMND, 9 or 12 digits) the registry holds; searched like a pid
    # (kind "pid": a record's ``old_id`` matches by the same search hash)
    old_id: Mapped[str | None] = mapped_column(Sealed("pid", blind="old_id_hash"), nullable=True)
    old_id_hash: Mapped[str | None] = mapped_column(String(32), nullable=True, default=blind_default("pid", "old_id"))
    full_name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120))  # lower-case, no diacritics, đ→d
    birth_date: Mapped[dt.date] = mapped_column(Date, index=True)
    sex: Mapped[str] = mapped_column(String(1))  # M / F
    ethnicity: Mapped[str | None] = mapped_column(String(40), nullable=True)
    ward_code: Mapped[int | None] = mapped_column(ForeignKey("ward.code"), index=True, nullable=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True, nullable=True)
    phone: Mapped[str | None] = mapped_column(Sealed("phone", blind="phone_hash"), nullable=True)  # E.164 +84...
    phone_hash: Mapped[str | None] = mapped_column(String(32), nullable=True,
                                                   default=blind_default("phone", "phone"))
    email: Mapped[str | None] = mapped_column(Sealed("email", blind="email_hash"), nullable=True)  # lower case
    email_hash: Mapped[str | None] = mapped_column(String(32), nullable=True,
                                                   default=blind_default("email", "email"))
    zalo_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    death_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    # The provenance of the golden values: no foreign key, the pipeline writes the person and the
    # record it points at together (a deferred key cost a check per row; migration 20261204_0015)
    source_record_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                                         nullable=True)


class Household(Base):
    """A household with its latest poverty-review data (Decree 07/2021 indicators)."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    ward_code: Mapped[int] = mapped_column(ForeignKey("ward.code"), index=True)
    area_type: Mapped[str] = mapped_column(String(10))  # rural / urban
    head_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", use_alter=True), nullable=True)
    income_per_person: Mapped[int | None] = mapped_column(SealedInt("income"), nullable=True)  # VND / person / month
    survey_date: Mapped[dt.date | None] = mapped_column(Date, index=True, nullable=True)
    # the 12 indicators, True = deprived; keys: employment, dependants, nutrition, health_insurance,
    # adult_education, child_school_attendance, housing_quality, floor_area, water_source,
    # hygienic_latrine, telecom_use, information_assets
    deprivations: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_record.id"), index=True, nullable=True)


class Licence(Base):
    """A licence or card held by a person (ID card, passport, driving licence by class, ...)."""

    __tablename__ = "licence"
    __table_args__ = (
        UniqueConstraint("kind", "number"),
        # detection reads licences by kind and date window (expiry, or issue date when it never expires)
        Index("ix_licence_kind_expires_on", "kind", "expires_on"),
        Index("ix_licence_kind_issued_on", "kind", "issued_on"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # id_card, passport, driving_licence, medical_licence, tour_guide_card, veterinary_cert, transport_licence
    kind: Mapped[str] = mapped_column(String(30))
    licence_class: Mapped[str | None] = mapped_column(String(10), nullable=True)  # driving: A1, A, B1, B, C1, C, D1, ...
    number: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True, nullable=True)
    holder_pid: Mapped[str | None] = mapped_column(Sealed("pid"), nullable=True)  # as sent
    issued_on: Mapped[dt.date] = mapped_column(Date)
    # None = not supplied (the rules derive it from the class and issue date), unless no_expiry
    expires_on: Mapped[dt.date | None] = mapped_column(Date, index=True, nullable=True)
    no_expiry: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # the agency says: no expiry
    issuing_agency: Mapped[str] = mapped_column(String(120))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_record.id"), index=True, nullable=True)


class School(Base):
    """A school with its level and catchment wards."""

    __tablename__ = "school"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))  # primary / lower_secondary
    ward_code: Mapped[int] = mapped_column(ForeignKey("ward.code"))
    catchment: Mapped[list] = mapped_column(JSON)  # list of ward codes
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_record.id"), nullable=True)


class UtilityCustomer(Base):
    """An electricity or water customer account."""

    __tablename__ = "utility_customer"
    __table_args__ = (UniqueConstraint("utility", "customer_no"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    utility: Mapped[str] = mapped_column(String(12))  # electricity / water
    customer_no: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True, nullable=True)
    ward_code: Mapped[int | None] = mapped_column(ForeignKey("ward.code"), nullable=True)
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_record.id"), index=True, nullable=True)


class VitalEvent(Base):
    """A birth or death notified by a hospital / commune (normalised from FHIR)."""

    __tablename__ = "vital_event"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # birth / death
    source_record_id: Mapped[int] = mapped_column(ForeignKey("source_record.id"), unique=True)
    subject_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), nullable=True)  # deceased / child once registered
    mother_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True, nullable=True)
    event_date: Mapped[dt.date] = mapped_column(Date, index=True)
    details: Mapped[dict] = mapped_column(JSON)  # sex, birth time, weight_g, multiple_birth, facility, cause_icd10, ...


class BuildingPlan(Base):
    """A citizen's declared plan to build on a land parcel."""

    __tablename__ = "building_plan"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True, nullable=True)
    parcel: Mapped[str] = mapped_column(String(60))
    ward_code: Mapped[int] = mapped_column(ForeignKey("ward.code"))
    declared_on: Mapped[dt.date] = mapped_column(Date, index=True)
    details: Mapped[dict] = mapped_column(JSON)
    source_record_id: Mapped[int | None] = mapped_column(ForeignKey("source_record.id"), unique=True, nullable=True)


class QualityIssue(Base):
    """A data-quality problem: a conflict between agencies, missing data, or a citizen's correction."""

    __tablename__ = "quality_issue"
    # (source_b: an agency's record's issues are looked up when it is re-sent)
    __table_args__ = (Index("ix_quality_issue_status_kind", "status", "kind"),
                      Index("ix_quality_issue_source_b", "source_b"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # conflict / missing / correction / link_review / ambiguous_ward / identifier (an identifier kept but not
    # read cleanly: field as sent, its class in value_b, the reason in detail; see chudong.kit.pid)
    kind: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True, nullable=True)
    field: Mapped[str] = mapped_column(String(40))
    value_a: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_a: Mapped[int | None] = mapped_column(ForeignKey("source_record.id"), nullable=True)
    value_b: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_b: Mapped[int | None] = mapped_column(ForeignKey("source_record.id"), nullable=True)
    agency_code: Mapped[str | None] = mapped_column(ForeignKey("agency.code"), index=True, nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open / resolved / dismissed
    detail: Mapped[str] = mapped_column(Sealed("record"), default="")  # sealed: details quote the values
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class IngestRun(Base):
    """One ingestion of one file (or HTTP body) of one feed from one agency, with its counts."""

    __tablename__ = "ingest_run"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    feed: Mapped[str] = mapped_column(String(30))
    agency_code: Mapped[str] = mapped_column(ForeignKey("agency.code"), index=True)
    file_name: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(12), default="running")  # running / done / rejected
    file_error: Mapped[str | None] = mapped_column(Text, nullable=True)  # why the whole file was rejected
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class IngestRejection(Base):
    """One rejected record of a run: where it was, which field, why."""

    __tablename__ = "ingest_rejection"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("ingest_run.id", ondelete="CASCADE"), index=True)
    line: Mapped[int | None] = mapped_column(Integer, nullable=True)  # CSV line / NDJSON line number
    source_key: Mapped[str | None] = mapped_column(String(120), nullable=True)
    field: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(Sealed("record"))  # sealed: reasons quote the bad value (an ID, a phone)
    record: Mapped[str] = mapped_column(Sealed("record"), default="")  # the record as received (truncated)


keep_search_hashes(Person)
