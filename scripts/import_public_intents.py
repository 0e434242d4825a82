#!/usr/bin/env python3
"""Relabel the training splits of public intent datasets to Settle's NLU contract, as Rasa NLU files.

Why: our own examples are written by a few people; an independent evaluation on outside data scores the model
far below our held-out file (issue 13). Crowd-sourced public sets bring many more ways of asking the same
things, and many near-domain requests Settle does not serve, which teach the model to say "out of scope".

What it reads: git mirrors as the search tool's `fetch` leaves them (a git directory, no work tree), at a
pinned revision, with `git show REV:PATH`, so every machine gets the same files. ONLY THE TRAINING SPLIT of
each dataset is read: their test, dev and validation splits are kept for an independent evaluation and must
never reach our training data. NLU++ is not imported because it has no training split (only 20 folds, any of
which an evaluation may use); MultiDoGO has no mirror here.

How it maps: each source has a table below, source label -> contract intent. Conservative on purpose:
- a label becomes an in-scope intent only when every example of it is a way of asking that intent;
- a label becomes `out_of_scope` when Settle clearly does not serve it (other domains, and near-domain
  requests such as cards, top-ups, orders, accounts or contracts);
- anything that could be read as something Settle does serve (a bank balance, a transfer that has not
  arrived, a charge not recognised, a refund) is left out ("-"), so it neither teaches nor contradicts.
Every label of a source must be in its table, and every label of a table must be in its source: a new
or renamed label stops the import instead of being mapped by accident.

What it writes: one Rasa 3 NLU file per source in `data/nlu/public/`, committed, so a machine trains without
downloading anything (both licences, CC BY 3.0 and 4.0, allow sharing the relabelled data with attribution,
which each file's header and docs/nlu-public-data.md give). The Bitext customer-support set is not imported:
its file has no split column, so an evaluation cut from it could overlap our training data. Each intent
block carries `metadata: {source: <name>}`, so a component and the benchmark's leave-one-source-out score
can tell public examples from ours. Examples are
deduplicated (case, spacing and end punctuation ignored) within and across sources and against the
texts of the `--exclude` files (our own data and held-out set by default, so the held-out score stays
honest), and capped: at most IN_SCOPE_CAP per intent and OUT_OF_SCOPE_CAP out-of-scope examples per
source, drawn evenly over the source labels behind them. The caps keep a few thousand public examples:
enough variety for a linear classifier on sentence embeddings, little enough for training to stay within
minutes on two cores (docs/nlu-public-data.md has the measurements).

Usage: python3 scripts/import_public_intents.py [--mirrors DIR] [--out DIR] [--exclude FILE ...]
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MIRRORS = Path("/work/.mirror")
DEFAULT_OUT = ROOT / "data" / "nlu" / "public"
# Our own examples (data/nlu/*.yml, not data/nlu/public) and the held-out set.
DEFAULT_EXCLUDE = sorted((ROOT / "data" / "nlu").glob("*.yml")) + [ROOT / "tests" / "nlu" / "held_out.yml"]

IN_SCOPE_CAP = 45        # per contract intent per source: about half of what each of our own intents has
OUT_OF_SCOPE_CAP = 400   # per source, spread evenly over the source labels mapped to out_of_scope
SEED = 2026

OOS = "out_of_scope"
CONTRACT = {
    "greet", "goodbye", "affirm", "deny", "thank", "bot_challenge", OOS, "check_balance", "check_due_date",
    "explain_bill", "pay_bill", "ask_payment_methods", "check_payment_status", "request_instalment_plan",
    "request_payment_extension", "report_financial_hardship", "dispute_bill", "request_invoice_copy",
    "request_human",
}

# ---------------------------------------------------------------------------------------------------------
# Label maps. One row per target: the target (a contract intent, out_of_scope, or "-" for "left out"),
# then the source labels; an indented line continues the row above. "#" starts a comment.
# ---------------------------------------------------------------------------------------------------------

CLINC150_MAP = """
check_balance   bill_balance                # "how much do I owe on my water bill"
check_due_date  bill_due                    # "when is my internet bill due"
pay_bill        pay_bill
greet           greeting
goodbye         goodbye
affirm          yes
deny            no
thank           thank_you
bot_challenge   are_you_a_bot
out_of_scope    oos                         # the oos_train examples
out_of_scope    book_hotel book_flight car_rental flight_status lost_luggage carry_on travel_alert
                travel_notification travel_suggestion international_visa plug_type exchange_rate timezone
                accept_reservations cancel_reservation confirm_reservation restaurant_reservation
                restaurant_reviews restaurant_suggestion how_busy
out_of_scope    recipe cook_time calories nutrition_info ingredients_list ingredient_substitution
                food_last meal_suggestion
out_of_scope    alarm timer reminder reminder_update calendar calendar_update todo_list todo_list_update
                shopping_list shopping_list_update smart_home play_music next_song what_song
                update_playlist order order_status date time weather calculator definition spelling
                translate measurement_conversion find_phone make_call text share_location
                current_location directions distance traffic uber next_holiday vaccines
out_of_scope    gas gas_type mpg oil_change_how oil_change_when tire_change tire_pressure jump_start
                last_maintenance schedule_maintenance
out_of_scope    meeting_schedule schedule_meeting pto_balance pto_request pto_request_status pto_used
                payday income w2 rollover_401k direct_deposit insurance insurance_change taxes
out_of_scope    credit_limit credit_limit_change credit_score improve_credit_score apr rewards_balance
                redeem_rewards new_card damaged_card report_lost_card replacement_card_duration
                expiration_date pin_change application_status international_fees freeze_account
                account_blocked routing order_checks interest_rate
out_of_scope    tell_joke fun_fact meaning_of_life how_old_are_you where_are_you_from
                what_are_your_hobbies do_you_have_pets flip_coin roll_dice change_accent change_speed
                change_volume whisper_mode sync_device reset_settings change_ai_name change_user_name
                user_name
-               balance                     # a bank account's balance reads like check_balance
-               min_payment                 # "lowest I can pay on my power bill": balance or a plan
-               transactions spending_history transfer   # payments made, in bank words
-               report_fraud card_declined  # a charge disputed, a payment that failed
-               what_can_i_ask_you who_made_you what_is_your_name who_do_you_work_for
                                            # questions about the bot, answered by no contract intent
-               cancel maybe repeat         # dialogue moves with no contract intent
-               change_language             # Settle speaks Dutch and French
"""

BANKING77_MAP = """
out_of_scope    activate_my_card card_arrival card_delivery_estimate card_linking card_about_to_expire
                card_not_working card_swallowed compromised_card contactless_not_working
                lost_or_stolen_card lost_or_stolen_phone order_physical_card get_physical_card
                getting_spare_card getting_virtual_card get_disposable_virtual_card
                disposable_card_limits virtual_card_not_working change_pin pin_blocked
                passcode_forgotten
out_of_scope    atm_support cash_withdrawal_charge cash_withdrawal_not_recognised declined_cash_withdrawal
                pending_cash_withdrawal wrong_amount_of_cash_received
                wrong_exchange_rate_for_cash_withdrawal
out_of_scope    automatic_top_up pending_top_up top_up_by_cash_or_cheque top_up_failed top_up_limits
                top_up_reverted verify_top_up
out_of_scope    exchange_rate exchange_charge exchange_via_app fiat_currency_support
                card_payment_wrong_exchange_rate receiving_money verify_source_of_funds
out_of_scope    age_limit country_support terminate_account
-               balance_not_updated_after_bank_transfer balance_not_updated_after_cheque_or_cash_deposit
                pending_transfer transfer_timing transfer_not_received_by_recipient failed_transfer
                declined_transfer cancel_transfer transfer_into_account beneficiary_not_allowed
                                            # "I paid by transfer, where is it": check_payment_status
-               card_payment_not_recognised direct_debit_payment_not_recognised extra_charge_on_statement
                transaction_charged_twice card_payment_fee_charged transfer_fee_charged
                request_refund Refund_not_showing_up reverted_card_payment?
                                            # "what is this charge", "charged twice": explain/dispute
-               declined_card_payment pending_card_payment   # a bill payment that failed
-               apple_pay_or_google_pay supported_cards_and_currencies visa_or_mastercard card_acceptance
                topping_up_by_card top_up_by_card_charge top_up_by_bank_transfer_charge
                                            # "can I pay with Apple Pay / a US card": ask_payment_methods
-               verify_my_identity why_verify_identity unable_to_verify_identity edit_personal_details
                                            # Settle verifies customers; personal details are near
"""



RASA_NLU_DATA_MAP = """
greet           greet_smalltalk
goodbye         goodbyes_smalltalk
affirm          affirm_smalltalk
deny            deny_smalltalk
bot_challenge   bot_challenge
out_of_scope    currency transfer_money crypto_currency show_accounts show_credit_cards interest_rate
                lost_card change_pin retirement_plan online_banking
out_of_scope    type_weather temperature_weather ask_forecast_weather locate_restaurant restaurant_type
                table_reservation restaurant_review Computer_Science_Courses Management_Courses
                Literature_Courses locate_car_dealer choose_car_type choose_nationality_car choose_budget
                choose_age_of_car show_my_order_status
out_of_scope    internet_is_slow_fixing_internet no_internet_fixing_internet no_wifi_fixing_internet
                need_new_router_fixing_internet       # a telecom's service desk, not its billing
-               show_statement              # "show my statement": a bank's, or our list of bills
-               finish_and_pay_retail need_more_time_retail   # paying an order, more time: near pay_bill
"""


def label_map(table: str) -> dict[str, str | None]:
    """Parses a map above into {source label: target}, None for labels left out."""
    mapping: dict[str, str | None] = {}
    target: str | None = None
    for line in table.splitlines():
        body = line.split("#", 1)[0]
        if not body.strip():
            continue
        words = body.split()
        if not line[0].isspace():
            target, words = (None if words[0] == "-" else words[0]), words[1:]
            if target is not None and target not in CONTRACT:
                raise ValueError(f"{target!r} is not a contract intent")
        for label in words:
            if label in mapping:
                raise ValueError(f"label {label!r} is mapped twice")
            mapping[label] = target
    return mapping


# ---------------------------------------------------------------------------------------------------------
# Sources: where each training split is and how to read it.
# ---------------------------------------------------------------------------------------------------------

def git_show(git_dir: Path, revision: str, path: str) -> str:
    """The text of PATH at REVISION in a bare git directory."""
    result = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{revision}:{path}"],
                            capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def read_clinc150(git_dir: Path, revision: str) -> list[tuple[str, str]]:
    """data_full.json holds all six splits; only `train` and `oos_train` are taken, the other four discarded unused."""
    splits = json.loads(git_show(git_dir, revision, "data/data_full.json"))
    return [(text, label) for text, label in splits["train"] + splits["oos_train"]]


def read_banking77(git_dir: Path, revision: str) -> list[tuple[str, str]]:
    """train.csv only (test.csv is the evaluation split)."""
    rows = csv.DictReader(io.StringIO(git_show(git_dir, revision, "banking_data/train.csv")))
    return [(row["text"], row["category"]) for row in rows]



RASA_NLU_DATA_FILES = ["smalltalk/nlu.yml", "banking/nlu.yml", "weather/nlu.yml", "restaurant/nlu.yml",
                       "education/nlu.yml", "car-purchase/nlu.yml", "fixing-internet/nlu.yml", "retail/nlu.yml"]


def read_rasa_nlu_data(git_dir: Path, revision: str) -> list[tuple[str, str]]:
    """Community-written Rasa NLU files, one per domain; the set has no splits (no evaluation part)."""
    rows = []
    for path in RASA_NLU_DATA_FILES:
        for block in yaml.safe_load(git_show(git_dir, revision, path)).get("nlu", []):
            for line in block.get("examples", "").splitlines():
                if line.strip().startswith("- "):
                    rows.append((ENTITY_MARKUP.sub(lambda m: m.group(1) or m.group(2), line.strip()[2:]),
                                 block["intent"]))
    return rows


@dataclass(frozen=True)
class Source:
    name: str
    mirror: str            # directory name under the mirrors directory
    revision: str
    url: str
    licence: str
    split: str
    read: Callable[[Path, str], list[tuple[str, str]]]
    table: str


SOURCES = [
    Source("clinc150", "clinc+oos-eval/repo", "828f8093932c8fe6ca7936c3d2e52903b1c523de",
           "https://github.com/clinc/oos-eval", "CC BY 3.0",
           "data/data_full.json keys train + oos_train", read_clinc150, CLINC150_MAP),
    Source("banking77", "PolyAI-LDN+task-specific-datasets/repo", "57ec275d8078af65b7731c2a98be812d844a6d6b",
           "https://github.com/PolyAI-LDN/task-specific-datasets", "CC BY 4.0",
           "banking_data/train.csv", read_banking77, BANKING77_MAP),
    Source("rasa-nlu-training-data", "RasaHQ+NLU-training-data/repo", "adf95065e808be76f51ce2c39b9f564cde5a77ae",
           "https://github.com/RasaHQ/NLU-training-data", "Apache 2.0",
           ", ".join(RASA_NLU_DATA_FILES) + " (the set has no splits)", read_rasa_nlu_data, RASA_NLU_DATA_MAP),
]


# ---------------------------------------------------------------------------------------------------------
# Relabel, clean, deduplicate, cap, write.
# ---------------------------------------------------------------------------------------------------------

ENTITY_MARKUP = re.compile(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\{[^}]*\}")


def normalise(text: str) -> str:
    """The key two examples are duplicates under: case, spacing and end punctuation ignored."""
    return re.sub(r"\s+", " ", text.casefold()).strip(" .!?")


def rasa_texts(path: Path) -> Iterable[str]:
    """The plain texts (entity markup removed) of the intent examples of a Rasa YAML NLU file."""
    for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
        if "intent" in block:
            for line in block.get("examples", "").splitlines():
                if line.strip().startswith("- "):
                    yield ENTITY_MARKUP.sub(lambda m: m.group(1) or m.group(2), line.strip()[2:])


def clean(text: str) -> str | None:
    """One line of plain text, or None when Rasa would read markup in it or nothing is left."""
    text = re.sub(r"\s+", " ", text).strip()
    return None if not text or any(c in text for c in "[]{}") else text


def spread(groups: dict[str, list[str]], cap: int, rng: random.Random) -> list[str]:
    """At most CAP texts taken in turn from each group (shuffled), so no one source label dominates."""
    queues = [rng.sample(texts, len(texts)) for _, texts in sorted(groups.items())]
    taken: list[str] = []
    while len(taken) < cap and any(queues):
        for queue in queues:
            if queue and len(taken) < cap:
                taken.append(queue.pop())
    return taken


def relabel(source: Source, rows: list[tuple[str, str]], seen: set[str]) -> dict[str, list[str]]:
    """{contract intent: texts} for one source; adds every mapped text's key to SEEN, so no later source repeats it."""
    mapping = label_map(source.table)
    labels = {label for _, label in rows}
    if labels - mapping.keys() or mapping.keys() - labels:
        raise SystemExit(f"{source.name}: labels not in the table: {sorted(labels - mapping.keys())}; "
                         f"in the table but not in the data: {sorted(mapping.keys() - labels)}")
    by_target: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for raw, label in rows:
        text, target = clean(raw), mapping[label]
        if text is None or target is None or normalise(text) in seen:
            continue
        seen.add(normalise(text))
        by_target[target][label].append(text)
    rng = random.Random(SEED)
    return {target: spread(groups, OUT_OF_SCOPE_CAP if target == OOS else IN_SCOPE_CAP, rng)
            for target, groups in sorted(by_target.items())}


def write_nlu(path: Path, source: Source, intents: dict[str, list[str]]) -> None:
    """A Rasa 3 NLU file whose header says where the data comes from and under which licence."""
    lines = ["# Generated by scripts/import_public_intents.py; do not edit, rerun it.",
             f"# Source: {source.url} at {source.revision}, {source.split} (training split only).",
             f"# Licence: {source.licence}. Relabelled to Settle's NLU contract; see docs/nlu-public-data.md.",
             'version: "3.1"', "", "nlu:"]
    for intent, texts in intents.items():
        lines += [f"- intent: {intent}", "  metadata:", f"    source: {source.name}", "  examples: |"]
        lines += [f"    - {text}" for text in texts]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS,
                        help="directory holding the fetched mirrors (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    parser.add_argument("--exclude", type=Path, nargs="*", default=DEFAULT_EXCLUDE,
                        help="Rasa NLU files whose texts must not be imported (default: data/nlu and the "
                             "held-out set)")
    args = parser.parse_args(argv)

    missing = [source for source in SOURCES if not (args.mirrors / source.mirror).is_dir()]
    for source in missing:
        print(f"{source.name}: no mirror at {args.mirrors / source.mirror}; fetch "
              f"github:{source.url.split('github.com/')[1]} or give --mirrors", file=sys.stderr)
    if missing:
        return 1
    seen = {normalise(text) for path in args.exclude for text in rasa_texts(path)}
    args.out.mkdir(parents=True, exist_ok=True)
    for source in SOURCES:
        intents = relabel(source, source.read(args.mirrors / source.mirror, source.revision), seen)
        write_nlu(args.out / f"{source.name}.yml", source, intents)
        counts = ", ".join(f"{intent} {len(texts)}" for intent, texts in intents.items())
        print(f"{source.name}: {sum(map(len, intents.values()))} examples ({counts}) -> "
              f"{args.out / (source.name + '.yml')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
