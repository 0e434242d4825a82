"""The invoice database: customers, invoices and their lines, payments, verification records.

Money is stored as integer cents; quantities and unit prices as exact decimals.
"""
from __future__ import annotations

import enum
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    delete,
    event,
    false,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, declarative_base, relationship

#: Typed as Any: SQLAlchemy 1.4 ships no type hints (its stubs are a separate package that fights 2.0 style).
Base: Any = declarative_base()


class ExactDecimal(TypeDecorator):
    """NUMERIC where the database has it; text on SQLite, which would otherwise round through floats."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.scale = scale

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(self.impl.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value).quantize(Decimal(1).scaleb(-self.scale))
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value)


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes on every database: stored in UTC, read back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware value")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class StrEnum(str, enum.Enum):
    """A status stored as its readable value; prints as that value (in templates, logs and JSON)."""

    def __str__(self) -> str:
        return self.value


class Channel(StrEnum):
    """Where a customer prefers to hear from us."""

    CHAT = "chat"
    EMAIL = "email"
    SMS = "sms"


class PlanStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class InvoiceStatus(StrEnum):
    """Stored state of an invoice; 'overdue' is derived from the due date, never stored."""

    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    DISPUTED = "disputed"
    IN_PLAN = "in_plan"
    CANCELLED = "cancelled"


UNPAID_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.DISPUTED, InvoiceStatus.IN_PLAN)


class LineCategory(StrEnum):
    """What a line on the bill is for, so the bill can be explained by category."""

    USAGE = "usage"
    FIXED = "fixed"
    TAX = "tax"
    ONE_OFF = "one_off"
    FEE = "fee"


class CheckoutStatus(StrEnum):
    """A provider's payment as the provider reports it (Mollie's names; the sandbox uses the same)."""

    OPEN = "open"
    PENDING = "pending"
    AUTHORIZED = "authorized"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"


class DisputeStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class EscalationReason(StrEnum):
    """Why a conversation went to a person."""

    ASKED = "asked"
    REPEATED_FALLBACK = "repeated_fallback"
    UPSET = "upset"
    DISPUTE = "dispute"
    HARDSHIP = "hardship"
    VERIFICATION_LOCKED = "verification_locked"


class EscalationStatus(StrEnum):
    WAITING = "waiting"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    HANDED_BACK = "handed_back"


class MessageAuthor(StrEnum):
    """Who wrote a message once a person was involved; notes are the agents' own, never sent."""

    CUSTOMER = "customer"
    AGENT = "agent"
    NOTE = "note"


class Role(StrEnum):
    """What a console user works on: agents take chats; operations see the figures and review flagged
    accounts; designers see the figures (and improve what the bot understands)."""

    AGENT = "agent"
    OPERATIONS = "operations"
    DESIGNER = "designer"


class ReviewAction(StrEnum):
    """What a person did about an account the reminder engine flagged for review."""

    CALL_NOTED = "call_noted"
    REMINDERS_PAUSED = "reminders_paused"
    REMINDERS_RESUMED = "reminders_resumed"
    EXTENSION_GRANTED = "extension_granted"
    PLAN_AGREED = "plan_agreed"
    REVIEWED = "reviewed"


class OptOutSource(StrEnum):
    """Where a customer's choice about reminders came from."""

    CHAT = "chat"  # said so in a verified chat
    LINK = "link"  # the link in an e-mail or SMS reminder (or the mail program's unsubscribe button)
    CONSOLE = "console"  # a person recorded it on the customer's request


class ReminderSubject(StrEnum):
    INVOICE = "invoice"
    INSTALMENT = "instalment"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


def _enum(enum_class, length: int = 20) -> Enum:
    """Enums stored as their readable values in a plain string column."""
    return Enum(
        enum_class,
        native_enum=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Customer(Base):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    customer_number = Column(String(16), nullable=False, unique=True)
    first_name = Column(String(80), nullable=False)
    last_name = Column(String(80), nullable=False)
    postcode = Column(String(10), nullable=False)
    date_of_birth = Column(Date, nullable=False)
    email = Column(String(200))
    phone = Column(String(40))
    preferred_channel = Column(_enum(Channel), nullable=False, default=Channel.CHAT)
    language = Column(String(5), nullable=False, default="en")
    municipality = Column(String(80), nullable=False)
    region = Column(String(40), nullable=False)
    # Heads-up reminders before the due date are sent only to customers who asked for them.
    wants_heads_up = Column(Boolean, nullable=False, default=False, server_default=false())
    #: Set when a person paused the reminders from the review list: the engine then leaves the customer out.
    reminders_paused_at = Column(UTCDateTime)

    invoices = relationship("Invoice", back_populates="customer", order_by="Invoice.issue_date")


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (Index("ix_invoices_customer_issue", "customer_id", "issue_date"),)

    id = Column(Integer, primary_key=True)
    number = Column(String(32), nullable=False, unique=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False)
    period_start = Column(Date, nullable=False)
    period_end = Column(Date, nullable=False)
    issue_date = Column(Date, nullable=False)
    due_date = Column(Date, nullable=False, index=True)
    total_cents = Column(Integer, nullable=False)
    status = Column(_enum(InvoiceStatus), nullable=False, default=InvoiceStatus.OPEN, index=True)
    #: When its latest payment came in (None before the first): the moment a bill paid in full was paid, which
    #: the figures look up for every reminded bill. Kept by `_note_last_payment` whenever a payment is added.
    last_payment_at = Column(UTCDateTime, index=True)

    customer = relationship("Customer", back_populates="invoices")
    lines = relationship("InvoiceLine", back_populates="invoice", order_by="InvoiceLine.id")
    payments = relationship("Payment", back_populates="invoice", order_by="Payment.paid_at")


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"

    id = Column(Integer, primary_key=True)
    invoice_id = Column(Integer, ForeignKey("invoices.id"), nullable=False, index=True)
    category = Column(_enum(LineCategory), nullable=False)
    description = Column(String(200), nullable=False)
    quantity = Column(ExactDecimal(12, 3), nullable=False)
    unit = Column(String(20), nullable=False)
    unit_price = Column(ExactDecimal(12, 5), nullable=False)
    amount_cents = Column(Integer, nullable=False)

    invoice = relationship("Invoice", back_populates="lines")


class Payment(Base):
    """Money applied to one invoice; a received payment may be spread over several invoices."""

    __tablename__ = "payments"

    id = Column(Integer, primary_key=True)
    invoice_id = Column(Integer, ForeignKey("invoices.id"), nullable=False, index=True)
    amount_cents = Column(Integer, nullable=False)
    paid_at = Column(UTCDateTime, nullable=False, index=True)
    method = Column(String(30), nullable=False)
    reference = Column(String(80), nullable=False, unique=True)
    received_payment_id = Column(Integer, ForeignKey("received_payments.id"), index=True)

    invoice = relationship("Invoice", back_populates="payments")
    received_payment = relationship("ReceivedPayment", back_populates="allocations")


@event.listens_for(Payment, "after_insert")
def _note_last_payment(_mapper, connection, payment: Payment) -> None:
    """Whoever adds a payment (money received, the demo's seed, a test), its bill's `last_payment_at` stays the
    moment of its latest payment, so the figures need not search the payments of a million bills."""
    latest = select(func.max(Payment.paid_at)).where(Payment.invoice_id == payment.invoice_id).scalar_subquery()
    connection.execute(update(Invoice).where(Invoice.id == payment.invoice_id).values(last_payment_at=latest))


class ReceivedPayment(Base):
    """Money that came in once, from a payment provider or a bank statement.

    The unique external reference makes a repeated webhook or a re-imported statement a no-op.
    """

    __tablename__ = "received_payments"

    id = Column(Integer, primary_key=True)
    external_reference = Column(String(120), nullable=False, unique=True)
    source = Column(String(30), nullable=False)  # "sandbox", "mollie", "bank_statement"
    method = Column(String(30), nullable=False)
    amount_cents = Column(Integer, nullable=False)
    received_at = Column(UTCDateTime, nullable=False, index=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), index=True)
    needs_review = Column(Boolean, nullable=False, default=False)
    review_reason = Column(String(200))

    allocations = relationship("Payment", back_populates="received_payment")


class LinkStatus(StrEnum):
    """Stored state of a payment link; expiry and changed amounts are derived when it is opened."""

    OPEN = "open"
    PAID = "paid"
    REVOKED = "revoked"


payment_link_invoices = Table(
    "payment_link_invoices",
    Base.metadata,
    Column("link_id", Integer, ForeignKey("payment_links.id"), primary_key=True),
    Column("invoice_id", Integer, ForeignKey("invoices.id"), primary_key=True),
)


class PaymentLink(Base):
    """A personal link to pay a fixed amount for fixed invoices; the token is signed, never stored.

    A link for an instalment pays that instalment's amount towards the plan's invoices.
    """

    __tablename__ = "payment_links"

    id = Column(Integer, primary_key=True)
    reference = Column(String(32), nullable=False, unique=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    amount_cents = Column(Integer, nullable=False)
    instalment_id = Column(Integer, ForeignKey("instalments.id"), index=True)
    created_at = Column(UTCDateTime, nullable=False, index=True)
    expires_at = Column(UTCDateTime, nullable=False)
    status = Column(_enum(LinkStatus), nullable=False, default=LinkStatus.OPEN)
    #: When the customer first saw the payment page behind it (recorded from migration 0008 on).
    first_opened_at = Column(UTCDateTime)
    #: When the money came in through its checkout (recorded from migration 0008 on; earlier ones filled in).
    paid_at = Column(UTCDateTime)

    customer = relationship("Customer")
    invoices = relationship("Invoice", secondary=payment_link_invoices, order_by="Invoice.due_date")
    checkouts = relationship("Checkout", back_populates="link", order_by="Checkout.id")


class Checkout(Base):
    """One attempt to pay a link through a payment provider."""

    __tablename__ = "checkouts"
    __table_args__ = (UniqueConstraint("provider", "provider_payment_id"),)

    id = Column(Integer, primary_key=True)
    link_id = Column(Integer, ForeignKey("payment_links.id"), nullable=False, index=True)
    provider = Column(String(20), nullable=False)
    provider_payment_id = Column(String(80), nullable=False)
    checkout_url = Column(String(500), nullable=False)
    amount_cents = Column(Integer, nullable=False)
    status = Column(_enum(CheckoutStatus), nullable=False, default=CheckoutStatus.OPEN)
    created_at = Column(UTCDateTime, nullable=False)

    link = relationship("PaymentLink", back_populates="checkouts")


class SandboxPayment(Base):
    """The built-in sandbox provider's own record, as a real provider would keep it on its side."""

    __tablename__ = "sandbox_payments"

    id = Column(String(40), primary_key=True)
    amount_cents = Column(Integer, nullable=False)
    description = Column(String(200), nullable=False)
    metadata_json = Column(Text, nullable=False)
    redirect_url = Column(String(500), nullable=False)
    webhook_url = Column(String(500), nullable=False)
    status = Column(_enum(CheckoutStatus), nullable=False, default=CheckoutStatus.OPEN)
    created_at = Column(UTCDateTime, nullable=False)
    paid_at = Column(UTCDateTime)


class VerificationFailure(Base):
    """One failed identity check; enough of them in a window pause the conversation, its source or all checks."""

    __tablename__ = "verification_failures"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    #: Where the attempt came from (the client address a channel passes), else the conversation.
    source = Column(String(255), index=True)
    customer_number = Column(String(64), nullable=False, index=True)
    failed_at = Column(UTCDateTime, nullable=False)


class VerificationLockout(Base):
    """A conversation, a source or everyone ("global") that may not try to verify until `locked_until`.

    A customer number is never locked: that would let anyone lock the real customer out."""

    __tablename__ = "verification_lockouts"

    id = Column(Integer, primary_key=True)
    subject = Column(String(20), nullable=False)  # "conversation", "source" or "global"
    subject_key = Column(String(255), nullable=False, index=True)
    locked_at = Column(UTCDateTime)
    locked_until = Column(UTCDateTime, nullable=False)


plan_invoices = Table(
    "plan_invoices",
    Base.metadata,
    Column("plan_id", Integer, ForeignKey("instalment_plans.id"), primary_key=True),
    Column("invoice_id", Integer, ForeignKey("invoices.id"), primary_key=True),
)


class InstalmentPlan(Base):
    """An agreement to pay open invoices in monthly parts."""

    __tablename__ = "instalment_plans"

    id = Column(Integer, primary_key=True)
    reference = Column(String(20), nullable=False, unique=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    total_cents = Column(Integer, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, index=True)
    status = Column(_enum(PlanStatus), nullable=False, default=PlanStatus.ACTIVE, index=True)
    ended_at = Column(UTCDateTime, index=True)

    invoices = relationship("Invoice", secondary=plan_invoices, order_by="Invoice.due_date")
    instalments = relationship("Instalment", back_populates="plan", order_by="Instalment.number")


class Instalment(Base):
    __tablename__ = "instalments"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id = Column(Integer, primary_key=True)
    plan_id = Column(Integer, ForeignKey("instalment_plans.id"), nullable=False, index=True)
    number = Column(Integer, nullable=False)
    due_date = Column(Date, nullable=False, index=True)
    amount_cents = Column(Integer, nullable=False)
    paid_cents = Column(Integer, nullable=False, default=0)
    #: When the last of its amount came in (recorded from migration 0008 on).
    paid_at = Column(UTCDateTime)

    plan = relationship("InstalmentPlan", back_populates="instalments")


class Extension(Base):
    """A one-time later due date for one invoice; the unique invoice makes 'once per invoice' hold."""

    __tablename__ = "extensions"

    id = Column(Integer, primary_key=True)
    invoice_id = Column(Integer, ForeignKey("invoices.id"), nullable=False, unique=True)
    original_due_date = Column(Date, nullable=False)
    new_due_date = Column(Date, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, index=True)

    invoice = relationship("Invoice")


class HardshipReport(Base):
    """Only that a customer said they are in financial difficulty, and when: nothing more sensitive."""

    __tablename__ = "hardship_reports"

    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    reported_at = Column(UTCDateTime, nullable=False, index=True)


class Dispute(Base):
    __tablename__ = "disputes"

    id = Column(Integer, primary_key=True)
    reference = Column(String(20), nullable=False, unique=True)
    invoice_id = Column(Integer, ForeignKey("invoices.id"), nullable=False, index=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    reason = Column(Text, nullable=False)
    status = Column(_enum(DisputeStatus), nullable=False, default=DisputeStatus.OPEN)
    previous_invoice_status = Column(_enum(InvoiceStatus), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, index=True)

    invoice = relationship("Invoice")


class Agent(Base):
    """A support agent who logs into the console; only a hash of the password is kept."""

    __tablename__ = "agents"

    id = Column(Integer, primary_key=True)
    email = Column(String(254), nullable=False, unique=True)
    name = Column(String(100), nullable=False)
    password_hash = Column(String(200), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(UTCDateTime, nullable=False)
    role = Column(_enum(Role), nullable=False, default=Role.AGENT, server_default=Role.AGENT.value)


class LoginFailure(Base):
    """One failed console login, by e-mail and by client address; enough of them slow further tries down."""

    __tablename__ = "login_failures"

    id = Column(Integer, primary_key=True)
    email = Column(String(254), nullable=False, index=True)
    client = Column(String(64), nullable=False, index=True)
    failed_at = Column(UTCDateTime, nullable=False, index=True)


class Escalation(Base):
    """A conversation handed to a person, with why and what the bot knew; the agents' queue reads these."""

    __tablename__ = "escalations"

    id = Column(Integer, primary_key=True)
    reason = Column(_enum(EscalationReason, length=30), nullable=False)
    conversation_id = Column(String(255), nullable=False, index=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), index=True)
    context_json = Column(Text, nullable=False, default="{}")
    #: The chat up to the hand-over: a JSON list of {"who": "customer"|"bot", "text", "at"}.
    transcript_json = Column(Text, nullable=False, default="[]", server_default="[]")
    status = Column(_enum(EscalationStatus), nullable=False, default=EscalationStatus.WAITING, index=True)
    created_at = Column(UTCDateTime, nullable=False, index=True)
    agent_id = Column(Integer, ForeignKey("agents.id"), index=True)
    claimed_at = Column(UTCDateTime)
    closed_at = Column(UTCDateTime)
    callback_phone = Column(String(40))
    callback_at = Column(UTCDateTime)
    #: When an agent marked the booked callback done, and who (recorded from migration 0011 on).
    callback_done_at = Column(UTCDateTime)
    callback_done_by = Column(Integer, ForeignKey("agents.id"))

    agent = relationship("Agent", foreign_keys=[agent_id])
    customer = relationship("Customer")


class EscalationMessage(Base):
    """What was said once a person was involved: the customer's messages, the agent's replies, and
    internal notes (author "note") that the customer never sees."""

    __tablename__ = "escalation_messages"

    id = Column(Integer, primary_key=True)
    escalation_id = Column(Integer, ForeignKey("escalations.id"), nullable=False, index=True)
    author = Column(_enum(MessageAuthor, length=10), nullable=False)
    agent_id = Column(Integer, ForeignKey("agents.id"))
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    #: When an agent's reply was handed to Rasa for the customer's chat; None while it waits.
    delivered_at = Column(UTCDateTime)

    agent = relationship("Agent")


class Conversation(Base):
    """One chat with the bot, noted at each customer message: the containment figures count these
    (Rasa's tracker store holds the messages themselves, apart)."""

    __tablename__ = "conversations"

    conversation_id = Column(String(255), primary_key=True)
    started_at = Column(UTCDateTime, nullable=False, index=True)
    last_message_at = Column(UTCDateTime, nullable=False)
    messages = Column(Integer, nullable=False)
    #: Who the chat proved to be, and when; None while it stays anonymous.
    customer_id = Column(Integer, ForeignKey("customers.id"), index=True)
    verified_at = Column(UTCDateTime)
    #: The language the chat spoke at its latest recorded customer message ("nl", "fr", "en"; migration 0014).
    language = Column(String(5))
    #: When the bot's latest turn after a customer message ended, and what it then waited for: a form's question
    #: ("verify_customer_form:customer_number") or "rephrase" after a fallback; None when it asked nothing
    #: (recorded from migration 0014 on).
    turn_ended_at = Column(UTCDateTime)
    waiting_for = Column(String(100))


class ConversationMessage(Base):
    """One customer message as the bot understood it, for the designers' review: the text with personal data
    replaced by placeholders (settle/identity/privacy.py), the intent and confidence NLU predicted, the
    entities it read, and the actions the bot took in reply (known once the next message arrives)."""

    __tablename__ = "conversation_messages"
    __table_args__ = (UniqueConstraint("conversation_id", "position"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), ForeignKey("conversations.conversation_id"), nullable=False)
    #: 1 for the conversation's first customer message, 2 for the next ...
    position = Column(Integer, nullable=False)
    received_at = Column(UTCDateTime, nullable=False, index=True)
    text = Column(Text, nullable=False)
    #: The conversation's language after this message ("nl", "fr", "en").
    language = Column(String(5))
    intent = Column(String(100), index=True)
    confidence = Column(Float)
    #: [{"entity": "amount", "value": "50 euros", "start": 12, "end": 20}, ...], values masked like the text.
    entities = Column(JSON, nullable=False, default=list)
    #: The bot's actions in reply, in order; None until the conversation's next message says what they were.
    actions = Column(JSON(none_as_null=True))


class MessageMark(Base):
    """A designer's reading of a customer message: the intent it should have had (`out_of_scope` for what
    Settle does not handle) and the text with its entities marked in Rasa's [value](entity) way. One per
    message: marking again replaces it."""

    __tablename__ = "message_marks"

    id = Column(Integer, primary_key=True)
    message_id = Column(Integer, ForeignKey("conversation_messages.id"), nullable=False, unique=True)
    intent = Column(String(100), nullable=False)
    example = Column(Text, nullable=False)
    agent_id = Column(Integer, ForeignKey("agents.id"), nullable=False)
    marked_at = Column(UTCDateTime, nullable=False)

    agent = relationship("Agent")


class ChatConversation(Base):
    """The customer's latest verified chat conversation, where in-app reminders are delivered."""

    __tablename__ = "chat_conversations"

    customer_id = Column(Integer, ForeignKey("customers.id"), primary_key=True)
    conversation_id = Column(String(255), nullable=False)
    last_seen_at = Column(UTCDateTime, nullable=False)


class Reminder(Base):
    """One reminder stage for one invoice (or one plan instalment): the unique key makes 'never twice'."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("subject", "subject_id", "stage"),)

    id = Column(Integer, primary_key=True)
    subject = Column(_enum(ReminderSubject), nullable=False)
    subject_id = Column(Integer, nullable=False)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    stage = Column(String(40), nullable=False)
    stage_order = Column(Integer, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, index=True)
    flagged_for_review = Column(Boolean, nullable=False, default=False)


class AccountReviewEntry(Base):
    """One thing a person did about a flagged account; a `reviewed` entry takes the account off the list
    until a later reminder flags it again."""

    __tablename__ = "account_review_entries"

    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    agent_id = Column(Integer, ForeignKey("agents.id"), nullable=False)
    action = Column(_enum(ReviewAction), nullable=False)
    note = Column(Text)
    created_at = Column(UTCDateTime, nullable=False)

    agent = relationship("Agent")


class ReminderChoice(Base):
    """One opt-out from reminders, or back in, on one channel or on all of them (`channel` "all"): kept, never
    overwritten, so the latest choice per channel decides and the figures count every one."""

    __tablename__ = "reminder_choices"

    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    channel = Column(String(10), nullable=False)
    opted_out = Column(Boolean, nullable=False)
    source = Column(_enum(OptOutSource, length=10), nullable=False)
    agent_id = Column(Integer, ForeignKey("agents.id"))
    created_at = Column(UTCDateTime, nullable=False, index=True)

    agent = relationship("Agent")


class OutboxMessage(Base):
    """A reminder's delivery through one channel: every attempt and its result, retried with backoff."""

    __tablename__ = "outbox_messages"

    id = Column(Integer, primary_key=True)
    reminder_id = Column(Integer, ForeignKey("reminders.id"), nullable=False, index=True)
    channel = Column(_enum(Channel, length=10), nullable=False)
    status = Column(_enum(OutboxStatus), nullable=False, default=OutboxStatus.PENDING, index=True)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime, nullable=False, index=True)
    last_error = Column(String(300))
    sent_at = Column(UTCDateTime)


class ReminderDay(Base):
    """A day whose reminders' figures are final (docs/kpis.md, "Speed"): the day is 14 days over and none of its
    reminders' messages can change any more, so its counts are kept in `reminder_day_counts` and a long period
    adds them up instead of going through every reminder again. A write that could change them deletes the day
    (`forget_reminder_days`); the figures then count it again."""

    __tablename__ = "reminder_days"

    day = Column(Date, primary_key=True)
    starts_at = Column(UTCDateTime, nullable=False, unique=True)
    ends_before = Column(UTCDateTime, nullable=False)
    counted_at = Column(UTCDateTime, nullable=False)


class ReminderDayCount(Base):
    """One final day's reminders of one stage for customers of one language: the reminders themselves (channel
    ""), or their messages on one channel. Each column is a count the figures add up over the days."""

    __tablename__ = "reminder_day_counts"

    day = Column(Date, ForeignKey("reminder_days.day", ondelete="CASCADE"), primary_key=True)
    language = Column(String(5), primary_key=True)
    stage = Column(String(40), primary_key=True)
    stage_order = Column(Integer, primary_key=True)
    channel = Column(String(10), primary_key=True)
    reminders = Column(Integer, nullable=False, default=0)
    flagged = Column(Integer, nullable=False, default=0)
    reached_nobody = Column(Integer, nullable=False, default=0)
    messages = Column(Integer, nullable=False, default=0)
    sent = Column(Integer, nullable=False, default=0)
    failed = Column(Integer, nullable=False, default=0)
    counted_3 = Column(Integer, nullable=False, default=0)
    paid_3 = Column(Integer, nullable=False, default=0)
    counted_7 = Column(Integer, nullable=False, default=0)
    paid_7 = Column(Integer, nullable=False, default=0)
    counted_14 = Column(Integer, nullable=False, default=0)
    paid_14 = Column(Integer, nullable=False, default=0)


#: The PostgreSQL advisory lock between counting final reminder days and the writes that forget them: writers
#: share it, the counting holds it alone, so no day is counted from data a write is about to change.
REMINDER_DAYS_LOCK = 160_015


def forget_reminder_days(connection, reminders=None, moments: tuple[datetime, ...] = ()) -> None:
    """Deletes the final reminder days (with their counts) that hold a reminder meeting `reminders` (a condition
    on `reminders`) or one of `moments`, so the figures count those days again from the rows as they are now."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock_shared(REMINDER_DAYS_LOCK)))
    held = [] if reminders is None else [select(Reminder.id).where(
        reminders, Reminder.created_at >= ReminderDay.starts_at, Reminder.created_at < ReminderDay.ends_before).exists()]
    days = [day for (day,) in connection.execute(select(ReminderDay.day).where(or_(
        *held, *(and_(ReminderDay.starts_at <= moment, ReminderDay.ends_before > moment) for moment in moments))))]
    if days:
        connection.execute(delete(ReminderDayCount).where(ReminderDayCount.day.in_(days)))
        connection.execute(delete(ReminderDay).where(ReminderDay.day.in_(days)))


def _changed(instance, *names: str) -> bool:
    state = inspect(instance)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "after_flush")
def _forget_changed_reminder_days(session, _context) -> None:
    """Every ORM write that could change a final reminder day's figures forgets that day, whoever makes it: a
    payment or a bill going in or out of "paid" (the paid-after windows), an instalment's payment, a reminder or
    one of its messages written or edited (dated in the past: the demo's history), a customer's language. A day
    is final only when its messages are settled and its windows closed, so the writes of ordinary days (a new
    reminder, a message sent) never meet one; they cost one small statement on a table of a few hundred rows."""
    invoices: set[int] = set()
    instalments: set[int] = set()
    customers: set[int] = set()
    reminders: set[int] = set()
    moments: list[datetime] = []
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, Payment):
            invoices.add(instance.invoice_id)
        elif isinstance(instance, Invoice) and instance not in session.new:
            status = inspect(instance).attrs.status.history
            if InvoiceStatus.PAID in (*status.added, *status.deleted) or _changed(instance, "last_payment_at") \
                    or instance in session.deleted:
                invoices.add(instance.id)
        elif isinstance(instance, Instalment) and instance not in session.new \
                and _changed(instance, "paid_at", "paid_cents", "amount_cents"):
            instalments.add(instance.id)
        elif isinstance(instance, Customer) and instance not in session.new and _changed(instance, "language"):
            customers.add(instance.id)
        elif isinstance(instance, Reminder):
            moments += [moment for moment in (*inspect(instance).attrs.created_at.history.sum(),) if moment is not None]
            if instance.id is not None:
                reminders.add(instance.id)
        elif isinstance(instance, OutboxMessage):
            reminders.update(r for r in inspect(instance).attrs.reminder_id.history.sum() if r is not None)
    conditions = [
        *([and_(Reminder.subject == ReminderSubject.INVOICE, Reminder.subject_id.in_(invoices))] if invoices else []),
        *([and_(Reminder.subject == ReminderSubject.INSTALMENT, Reminder.subject_id.in_(instalments))] if instalments else []),
        *([Reminder.customer_id.in_(customers)] if customers else []),
        *([Reminder.id.in_(reminders)] if reminders else []),
    ]
    if conditions or moments:  # a reminder's moment before an edit, or a new one's
        forget_reminder_days(session.connection(), or_(*conditions) if conditions else None, tuple(moments))
