"""Every way a use case can say no, in one place; callers turn each into words for the customer,
the agent or the operator (never a stack trace)."""
from __future__ import annotations

# -- Paying ------------------------------------------------------------------------------------------


class NothingToPay(Exception):
    """The customer has no open amount on the invoices asked for."""


class InvoiceNotFound(Exception):
    """No invoice with that number belongs to this customer."""


class NoBillForMonth(Exception):
    """The customer named a month none of their bills is for; `months` are the months they do have bills for."""

    def __init__(self, month, months) -> None:
        super().__init__(month.isoformat())
        self.month = month
        self.months = tuple(months)


class LinkProblem(Exception):
    """A link that can't be used; `reason` is unknown, expired, paid or changed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderError(Exception):
    """The provider could not be reached, or refused the request; the message says which."""


class StatementError(ValueError):
    """The file is not a CAMT.053 statement that can be read; nothing of it was recorded."""

# -- Can't pay now -----------------------------------------------------------------------------------


#: Why a plan can't be made; the chat has one text for each.
PLAN_REASONS = ("nothing_open", "below_minimum", "active_plan", "broken_recently")
#: Why an extension can't be given; the chat has one text for each.
EXTENSION_REASONS = ("nothing_open", "already_extended", "too_late", "in_plan", "disputed", "invoice_not_found")


class NotEligible(Exception):
    """A rule says no; `reason` is a code the chat turns into a sentence."""

    reasons: tuple[str, ...] = ()

    def __init__(self, reason: str) -> None:
        if reason not in self.reasons:
            raise ValueError(f"unknown reason {reason!r} for {type(self).__name__}")
        super().__init__(reason)
        self.reason = reason


class NotEligibleForPlan(NotEligible):
    """No instalment plan for this customer now."""

    reasons = PLAN_REASONS


class NotEligibleForExtension(NotEligible):
    """No later due date for this invoice now; `invoice_number` names the invoice looked at, if any."""

    reasons = EXTENSION_REASONS

    def __init__(self, reason: str, invoice_number: str | None = None, plan_possible: bool = True) -> None:
        super().__init__(reason)
        self.invoice_number = invoice_number
        #: Whether a payment plan is possible instead (the offer of more time checks it to say so).
        self.plan_possible = plan_possible


class OutOfRange(ValueError):
    """A number of months or a date outside what the policy allows; carries the allowed range."""

    def __init__(self, message: str, minimum=None, maximum=None) -> None:
        super().__init__(message)
        self.minimum = minimum
        self.maximum = maximum


class AlreadyDisputed(Exception):
    """The invoice is already disputed; `reference` is that dispute's, or None when it has no record."""

    def __init__(self, reference: str | None) -> None:
        super().__init__(reference)
        self.reference = reference


class UnusableDisputeReason(ValueError):
    """The reason given for a dispute can't be kept; `problem` is card_number or too_short."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem

# -- Policies and configuration ----------------------------------------------------------------------


class PolicyError(ValueError):
    """The policy file is missing or has a wrong value; the message says which and where."""


class MissingSecret(RuntimeError):
    """Outside the embedded demo every process must share one secret from the environment."""

# -- Reached out first -------------------------------------------------------------------------------


class UnknownStage(LookupError):
    """A stored reminder names a stage the reminder policy no longer has."""


class SendError(Exception):
    """A reminder could not be sent; `retryable` says whether trying the same channel later may work."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class TextError(KeyError):
    """A text can't be made: no such response, no text in it, or a value it needs is missing."""

    def __init__(self, message: str, response: str | None = None, missing: str | None = None) -> None:
        super().__init__(message)
        self.response = response
        self.missing = missing

    def __str__(self) -> str:
        """The message as written; KeyError would show it in quotes."""
        return str(self.args[0])

# -- A person from the team --------------------------------------------------------------------------


class HandoffProblem(Exception):
    """Something an agent tried can't be done; `str()` is a sentence to show them."""


class EscalationNotFound(HandoffProblem):
    pass


class AlreadyClaimed(HandoffProblem):
    pass


class NoCallbackToMark(HandoffProblem):
    """The conversation has no callback booked, or it was marked done already."""


class NotYours(HandoffProblem):
    pass


class CallbackProblem(ValueError):
    """The customer's phone number or time can't be used; `reason` picks the message to say."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # phone, unclear, past, closed, too_far


class AgentProblem(ValueError):
    """An agent can't be created as asked; `str()` says why."""


class TooManyLogins(Exception):
    """Too many failed console logins for this e-mail or from this address: none is checked for `minutes`."""

    def __init__(self, minutes: int) -> None:
        super().__init__(f"too many failed logins; try again in {minutes} minutes")
        self.minutes = minutes

# -- Insights ----------------------------------------------------------------------------------------


class BadPeriod(ValueError):
    """A period that ends before it starts, or days that are not dates."""


class UnknownLanguage(ValueError):
    """A language filter naming a language Settle does not speak."""


class FlaggedAccountNotFound(LookupError):
    """No account flagged for review (and not yet reviewed) has this customer id."""


class UnknownChannel(ValueError):
    """A reminder channel Settle does not have (chat, email, sms, or all of them); nothing was recorded."""


class ReviewProblem(ValueError):
    """What a person tried on a flagged account can't be done (an empty note); nothing changed."""


class MessageNotFound(LookupError):
    """No recorded customer message (or conversation) for the conversation review has this id."""


class MarkProblem(ValueError):
    """A designer's mark on a message can't be kept (an unknown intent or entity, a changed text); the
    message says what to change. Nothing changed."""

# -- Tooling -----------------------------------------------------------------------------------------


class StartupError(Exception):
    """A part could not start; the message says what to do."""
