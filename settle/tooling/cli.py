"""The `settle` command: set up the database, seed demo data, run the assistant, mint app tokens, export figures."""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from settle import metrics, schema
from settle.clock import FixedClock, clock_for
from settle.config import Settings, process_settings
from settle.db import session_factory
from settle.errors import AgentProblem, BadPeriod, MissingSecret, PolicyError, StartupError, StatementError
from settle.files import private_directory
from settle.handoff.office_hours import OfficeHours
from settle.identity.language import SUPPORTED
from settle.identity.verification import issue_app_token
from settle.models import Customer, Role
from settle.policy import load_policy, load_redirects, load_reminder_policy
from settle.signing import action_token, link_secret, rasa_api_token, session_secret
from settle.tooling import replicas, runner
from settle.tooling.seed import DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD, DEMO_OPERATIONS_EMAIL, DEMO_OPERATIONS_PASSWORD, seed
from settle.unit_of_work import unit_of_work

RASA_PORT = 5005
ACTIONS_PORT = 5055
SHELL_PORT = 5006
WEB_PORT = 8000
MODEL = "models/settle.tar.gz"
RUN_PARTS = ("web", "actions", "rasa")
#: N models load side by side: on 2 busy cores that took 4 minutes and more.
REPLICAS_START_SECONDS = 900
BENCH_PARTS = ("nlu", "dialogue", "load", "replicas", "cost", "scale", "reminders", "kpis")


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def say_indented(line: str) -> None:
    """A line of progress under the step `say` announced."""
    print(f"    {line}", flush=True)


def cmd_setup(args: argparse.Namespace) -> int:
    """Migrates the database and seeds demo data when it has no customers yet."""
    url = process_settings().database_url
    say("Bringing the database schema up to date")
    schema.upgrade(url)
    with session_factory(url).begin() as session:
        has_customers = session.execute(select(func.count()).select_from(Customer)).scalar_one() > 0
    if has_customers:
        say("Demo data already there; leaving it as it is")
        return 0
    return cmd_seed(args)


def cmd_seed(args: argparse.Namespace) -> int:
    settings = process_settings()
    url, today = settings.database_url, args.today or clock_for(settings).today()
    say(f"Seeding {args.customers} demo customers with bills up to {today}")
    try:
        with session_factory(url).begin() as session:
            seed(session, today, args.customers, progress=lambda done, total: print(f"    {done}/{total} customers", flush=True),
                 zone=clock_for(settings).zone)
    except ValueError as error:
        print(f"settle seed: {error}. Delete the database file (or use an empty database) to seed again.", file=sys.stderr)
        return 1
    say("Demo data ready")
    return 0


def cmd_migrate(_args: argparse.Namespace) -> int:
    schema.upgrade(process_settings().database_url)
    say("Database schema is up to date")
    return 0


def cmd_app_token(args: argparse.Namespace) -> int:
    settings = process_settings()
    if not settings.app_token_secret:
        print("settle app-token: set SETTLE_APP_TOKEN_SECRET first (the same value the servers use).", file=sys.stderr)
        return 1
    print(issue_app_token(args.customer_number, settings.app_token_secret, clock_for(settings).now()))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Starts the web app, the action server and the Rasa server (or `rasa shell`), or the parts asked for,
    until Ctrl-C or SIGTERM, which stop every one of them."""
    with_rasa = "rasa" in args.parts and not args.shell
    parent = os.getppid() if args.stop_with_parent else None
    settings = process_settings()
    refusal = settings.sandbox_refusal() or settings.missing_secrets_refusal() or _replicas_refusal(args, settings)
    if refusal:
        print(f"settle run: {refusal}.", file=sys.stderr)
        return 1
    if (with_rasa or args.shell) and not os.path.exists(MODEL):
        print(f"settle run: no trained model at {MODEL}; run `make train` first.", file=sys.stderr)
        return 1
    try:
        load_policy(settings.policy_file)
        load_reminder_policy(settings.reminder_policy_file)
        load_redirects(settings.redirects_file)
        link_secret(settings)
        session_secret(settings)
        # Rasa (endpoints.yml) and the action server read it from the environment every part inherits.
        os.environ["SETTLE_ACTION_TOKEN"] = action_token(settings)
        OfficeHours.parse(settings.office_hours, settings.timezone)
    except PolicyError as error:
        print(f"settle run: {error}. Fix the policy file and run again.", file=sys.stderr)
        return 1
    except MissingSecret as error:
        print(f"settle run: {error}.", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"settle run: {error} (SETTLE_OFFICE_HOURS).", file=sys.stderr)
        return 1
    os.umask(0o077)  # what the servers write (Rasa's conversations too) is for this user only
    private_directory(Path("var"))
    token = rasa_api_token(settings)
    if token:  # every part started below inherits it: the console and reminders reach the chat with it
        os.environ["RASA_API_TOKEN"] = token
    # the parts find each other on the ports given, unless told otherwise (the defaults are Settle's own)
    os.environ.setdefault("SETTLE_RASA_URL", f"http://127.0.0.1:{args.rasa_port}")
    os.environ.setdefault("SETTLE_PUBLIC_URL", f"http://127.0.0.1:{args.web_port}")
    # every part counts into files there, and the web app's /metrics adds them up (settle/metrics.py)
    os.environ.setdefault(metrics.MULTIPROCESS_VARIABLE, str(Path("var/metrics").resolve()))
    metrics.fresh_directory(Path(os.environ[metrics.MULTIPROCESS_VARIABLE]))
    runner.stop_on_sigterm()
    started: list[runner.Part] = []
    try:
        servers = {"web": (runner.web_app(args.web_port), args.web_port),
                   "actions": (runner.action_server(args.actions_port), args.actions_port)}
        if args.replicas > 1:  # theirs start with the replicas, behind the load balancer
            del servers["actions"]
        for part, port in (servers[name] for name in servers if name in args.parts or args.shell):
            if args.shell and runner.answers(part.health_url):
                say(f"Using the {part.name} already running on 127.0.0.1:{port}")
                continue
            say(f"Starting the {part.name} on 127.0.0.1:{port}")
            started.append(part)
            runner.start(part, port)
        if args.shell:
            say("Starting a chat in this terminal (loading the model takes about a minute; /stop ends it)")
            shell = runner.rasa_command(
                "shell", "--model", MODEL, "--endpoints", "endpoints.yml", "--interface", "127.0.0.1", "--port", str(SHELL_PORT)
            )
            return subprocess.call(shell)
        if args.replicas > 1:
            _start_replicas(args, token, started)
            _print_where_to_talk(token, args.rasa_port, args.web_port)
        elif with_rasa:
            rasa = runner.rasa_server(args.rasa_port, MODEL, token, _endpoints_for(args.actions_port))
            say(f"Starting the Rasa server on 127.0.0.1:{args.rasa_port} (loading the model takes about a minute)")
            started.append(rasa)
            runner.start(rasa, args.rasa_port)
            _print_where_to_talk(token, args.rasa_port, args.web_port)
        else:
            say(f"Running the {', '.join(part.name for part in started)}; Ctrl-C or SIGTERM stops them")
        runner.watch(started, parent)
        say("Stopping: the command that started settle run has ended")
    except StartupError as error:
        print(f"settle run: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        say("Stopping")
    finally:
        for part in runner.stop(started):
            print(f"settle run: the {part.name} did not stop within {runner.STOP_SECONDS} s and was killed; see {part.log}", file=sys.stderr)
    return 0


def _replicas_refusal(args: argparse.Namespace, settings: Settings) -> str | None:
    """Why `--replicas` can't run here, or None: replicas share conversations, locks and sockets only through
    PostgreSQL and Redis, and need HAProxy in front."""
    if args.replicas < 2:
        return None
    if args.shell or set(args.parts) != set(RUN_PARTS):
        return "--replicas starts every part; leave out --shell and --parts"
    if not (settings.database_url.startswith("postgresql") and settings.redis_url):
        return "--replicas needs DATABASE_URL on PostgreSQL and REDIS_URL, which the replicas share (docs/operations.md)"
    if not shutil.which("haproxy"):
        return "--replicas needs HAProxy in front of the replicas: install it (`apt-get install haproxy`)"
    return None


def _start_replicas(args: argparse.Namespace, token: str | None, started: list[runner.Part]) -> None:
    """N action servers and N Rasa servers behind HAProxy on the usual ports (settle/tooling/replicas.py)."""
    layout = replicas.Layout(args.rasa_port, args.actions_port, args.replicas)
    if not runner.port_is_free(layout.actions_port):
        raise StartupError(f"Port {layout.actions_port} for the load balancer is already in use: stop the program using it "
                           f"(`lsof -i :{layout.actions_port}` shows which) and run again.")
    endpoints, env = replicas.endpoints(Path("var/endpoints-replicas.yml"), layout, process_settings().database_url)
    parts = replicas.parts(layout, MODEL, token, endpoints)
    started.extend(part for part, _port in parts)
    say(f"Starting {args.replicas} action servers and {args.replicas} Rasa servers (ports {layout.rasa_ports[0]}…) behind "
        f"HAProxy on 127.0.0.1:{layout.rasa_port} and :{layout.actions_port} (loading the models takes a minute or two)")
    runner.start_together(parts, timeout=REPLICAS_START_SECONDS, env={**env, **replicas.rasa_environment()})


def _endpoints_for(actions_port: int) -> str:
    """endpoints.yml, or a copy in var/ that sends Rasa to an action server on another port."""
    if actions_port == ACTIONS_PORT:
        return "endpoints.yml"
    path = runner.endpoints_for_ports(Path("var/endpoints.yml"), f"http://127.0.0.1:{actions_port}/webhook", Path("var/trackers.db"))
    return str(path)


def cmd_agent_add(args: argparse.Namespace) -> int:
    """Adds a support agent for the console; the password is asked twice, or read from stdin."""
    from getpass import getpass

    from settle.handoff.services import add_agent

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass("Password for the new agent: ")
        if getpass("The same password again: ") != password:
            print("settle agent add: the two passwords differ; nothing was changed.", file=sys.stderr)
            return 1
    try:
        agent = add_agent(unit_of_work(), args.email, args.name, password, Role(args.role))
        say(f"{agent.name} <{agent.email}> ({agent.role}) can now log in at /agent")
    except AgentProblem as error:
        print(f"settle agent add: {error}; nothing was changed.", file=sys.stderr)
        return 1
    return 0


def cmd_import_statement(args: argparse.Namespace) -> int:
    """Records the credits of a CAMT.053 bank statement against invoices, once."""
    from settle.payments.services import import_statement

    try:
        xml = open(args.file, "rb").read()
    except OSError as error:
        print(f"settle import-statement: can't read {args.file}: {error.strerror}", file=sys.stderr)
        return 1
    try:
        report = import_statement(unit_of_work(), xml)
    except StatementError as error:
        print(f"settle import-statement: {error}. Nothing was recorded.", file=sys.stderr)
        return 1
    print(report.summary())
    for item in report.matched_for_review:
        print(f"  to review: {item}")
    for item in report.unmatched:
        print(f"  not matched: {item}")
    return 0


def cmd_remind(args: argparse.Namespace) -> int:
    """Sends the reminders that are due, per policy/reminders.yml; safe to run twice or after a crash."""
    from settle.outreach.senders import senders_from
    from settle.outreach.services import run_reminders

    settings = process_settings()
    try:
        load_reminder_policy(settings.reminder_policy_file)
        load_policy(settings.policy_file)
    except PolicyError as error:
        print(f"settle remind: {error}. Nothing was sent.", file=sys.stderr)
        return 1
    uow = unit_of_work(settings, FixedClock(args.now, settings.timezone) if args.now else None)
    now = uow.clock.now()
    say(f"Reminders as of {now.isoformat(timespec='minutes')}{' (dry run: nothing is sent or stored)' if args.dry_run else ''}")
    summary = run_reminders(uow, senders_from(settings), dry_run=args.dry_run, progress=lambda line: print(f"    {line}", flush=True))
    for line in summary.lines():
        print(line)
    return 0


def cmd_kpis(args: argparse.Namespace) -> int:
    """Writes every figure of the period as CSV (docs/kpis.md defines them), to a file or the terminal."""
    from settle.insights.export import write_csv
    from settle.insights.services import figures_for

    try:
        figures = figures_for(unit_of_work(), args.start, args.end, args.language)
    except BadPeriod as error:
        print(f"settle kpis: {error}.", file=sys.stderr)
        return 1
    if args.csv is None:
        write_csv(figures, sys.stdout)
        return 0
    try:
        with open(args.csv, "w", newline="", encoding="utf-8") as out:
            write_csv(figures, out)
    except OSError as error:
        print(f"settle kpis: can't write {args.csv}: {error.strerror}", file=sys.stderr)
        return 1
    language = f" in {args.language}" if args.language else ""
    say(f"The figures from {args.start.isoformat()} to {args.end.isoformat()}{language} are in {args.csv}")
    return 0


def cmd_review_export(args: argparse.Namespace) -> int:
    """Writes the messages designers marked in the conversation review as Rasa NLU training data, with personal
    data replaced by stand-ins and without examples data/nlu has already (docs/conversation-review.md)."""
    from settle.insights.services import export_reviewed

    try:
        written = export_reviewed(unit_of_work(), args.out, args.per_language)
    except OSError as error:
        print(f"settle review export: can't write {error.filename}: {error.strerror}", file=sys.stderr)
        return 1
    for result in written:
        say(f"{result.examples} marked message{'' if result.examples == 1 else 's'} in {result.path}")
    if not written:
        say("No message is marked yet: nothing written")
    return 0


def cmd_catch_messages(_args: argparse.Namespace) -> int:
    from settle.tooling.catcher import catch_messages

    catch_messages(process_settings())
    return 0


def _moment(text: str) -> datetime:
    """--now as 2026-11-27 or 2026-11-27T10:00, in the company's timezone unless one is given."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a moment like 2026-11-27T10:00") from None
    if len(text) == 10:  # a day alone: at 10:00, a sensible hour to hear from us
        moment = moment.replace(hour=10)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(process_settings().timezone))
    return moment.astimezone(timezone.utc)


def _nlu_test_problem(path: Path) -> str | None:
    """Why the NLU test file can't be scored, checked before any benchmark runs; None when it can."""
    import yaml

    from bench.nlu import load_nlu

    if not path.is_file():
        return f"there is no NLU test file at {path}."
    try:
        examples = load_nlu([path]).examples
    except ValueError as error:
        return str(error)
    except (KeyError, TypeError, yaml.YAMLError) as error:
        return f"{path} can't be read as Rasa NLU data: {error} is missing or malformed."
    return None if examples else f"{path} has no examples to score."


def cmd_bench(args: argparse.Namespace) -> int:
    """Runs the benchmarks, prints their figures and writes var/bench/report.{json,md}; never asserts targets."""
    from bench import Report

    parts = args.only or list(BENCH_PARTS)
    needs_postgres = {"replicas", "scale", "reminders", "kpis"} & set(parts)
    if needs_postgres and not args.database_url.startswith("postgresql"):
        print("settle bench: the scale benchmarks need PostgreSQL (--database-url postgresql://…).", file=sys.stderr)
        return 1
    for nlu_test in args.nlu_test or []:
        problem = _nlu_test_problem(nlu_test)
        if problem:
            print(f"settle bench: {problem}", file=sys.stderr)
            return 1
    if {"nlu", "dialogue", "load", "replicas", "cost", "scale"} & set(parts) and not os.path.exists(MODEL):
        print(f"settle bench: no trained model at {MODEL}; run `make train` first.", file=sys.stderr)
        return 1
    model = Path(MODEL)
    report = Report()
    for part in parts:
        say(f"Benchmark: {part}")
        if part == "nlu":
            from bench.nlu import run_nlu

            configs = [Path("config.yml"), *sorted(Path("tests/nlu/pipelines").glob("*.yml"))]  # the alternatives
            report.add(part, *run_nlu(args.folds, args.nlu_test, configs, say_indented))
        elif part == "dialogue":
            from bench.dialogue import run_dialogue

            report.add(part, *run_dialogue(model, say_indented))
        elif part == "load":
            from bench.load import run_load

            report.add(part, *run_load(model, "", args.concurrency, args.seconds, say_indented))  # a fresh demo database
        elif part == "replicas":
            from bench.replicas import run_replicas

            report.add(part, *run_replicas(model, args.database_url, args.redis_url, args.seconds, say_indented))
        elif part == "cost":
            from bench.load import run_cost

            report.add(part, *run_cost(model, say_indented, train=args.train))
        elif part == "scale":
            from bench.load import run_scale

            report.add(part, *run_scale(model, args.database_url, args.invoices, say_indented, seconds=args.seconds))
        elif part == "reminders":
            from bench.reminders import reminder_selection

            figures = [reminder_selection(args.database_url, invoices, say=say_indented) for invoices in args.invoices]
            rows = "\n".join(f"| {f['invoices']:,} | {f['first_run_claimed']:,} | {f['first_run_seconds']} s | {f['second_run_seconds']} s |"
                             for f in figures)
            report.add(part, {"runs": figures}, "## Reminder selection (PostgreSQL)\n\n| invoices | claimed and queued | first run | second run |\n"
                                                 "| --- | --- | --- | --- |\n" + rows)
        elif part == "kpis":
            from bench.kpis import figures_timing

            timings = [figures_timing(args.database_url, invoices, say=say_indented) for invoices in args.invoices]
            rows = "\n".join(f"| {t['invoices']:,} | {t['7_days_seconds']} s | {t['30_days_seconds']} s | {t['90_days_seconds']} s "
                             f"| {t['dashboard_7_days_page_seconds']} s | {t['dashboard_30_days_page_seconds']} s "
                             f"| {t['dashboard_90_days_page_seconds']} s | {t['flagged_accounts_page_seconds']} s |"
                             for t in timings)
            report.add(part, {"runs": timings}, "## Every KPI figure of a period, and the console's pages (PostgreSQL, docs/kpis.md)\n\n"
                                                "| invoices | figures 7 days | 30 days | 90 days | dashboard page 7 days | 30 days | 90 days "
                                                "| flagged accounts page |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n" + rows)
    path, changes = report.write()
    if changes:
        say("Compared with the previous run:")
        for line in changes:
            say_indented(line)
    say(f"Report written to {path} (and report.json beside it)")
    return 0


def _print_where_to_talk(token: str | None, rasa_port: int, web_port: int) -> None:
    base = f"http://127.0.0.1:{rasa_port}"
    print(
        f"\nSettle is running.\n"
        f"  REST:      POST http://127.0.0.1:{web_port}/chat/conversations gives a conversation id (\"sender\"), then\n"
        f"             curl -s {base}/webhooks/rest/webhook -H 'Content-Type: application/json' "
        f"-d '{{\"sender\": \"<that id>\", \"message\": \"hi\"}}' (README: the whole example)\n"
        f"  socket.io: {base}/socket.io\n"
        f"  chat:      http://127.0.0.1:{web_port}/chat (the website's chat widget)\n"
        f"  agents:    http://127.0.0.1:{web_port}/agent (demo agent: {DEMO_AGENT_EMAIL} / {DEMO_AGENT_PASSWORD})\n"
        f"  dashboard: http://127.0.0.1:{web_port}/agent/dashboard (demo operations: {DEMO_OPERATIONS_EMAIL} / {DEMO_OPERATIONS_PASSWORD})\n"
        f"  web app:   http://127.0.0.1:{web_port} (payment pages; links come from the chat)\n"
        f"  terminal:  make shell (in another terminal)\n"
        f"  HTTP API:  {'enabled, with the token in RASA_API_TOKEN (demo: var/rasa-api-token)' if token else 'off: set RASA_API_TOKEN, or agents cannot write to the chat'}\n"
        f"  logs:      var/log/\n"
        f"Press Ctrl-C (or send SIGTERM) to stop everything.\n",
        flush=True,
    )


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2026-11-22") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="settle", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, handler, help_text in (
        ("setup", cmd_setup, "migrate the database and seed demo data if it is empty"),
        ("seed", cmd_seed, "seed demo data into an empty database"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--customers", type=int, default=500, help="how many customers (default 500)")
        command.add_argument("--today", type=_date, help="the date the demo data is seen from (default: today)")
        command.set_defaults(handler=handler)
    commands.add_parser("migrate", help="bring the database schema up to date").set_defaults(handler=cmd_migrate)
    token = commands.add_parser("app-token", help="print a signed app token for a customer number")
    token.add_argument("customer_number")
    token.set_defaults(handler=cmd_app_token)
    agent = commands.add_parser("agent", help="manage the support agents of the console").add_subparsers(dest="agent_command", required=True)
    add_agent = agent.add_parser("add", help="add an agent (asks for the password)")
    add_agent.add_argument("email")
    add_agent.add_argument("--name", required=True, help="the name customers see when the agent joins their chat")
    add_agent.add_argument("--role", choices=[role.value for role in Role], default=Role.AGENT.value,
                           help="agent: takes chats; operations: figures and flagged accounts; designer: figures")
    add_agent.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    add_agent.set_defaults(handler=cmd_agent_add)
    statement = commands.add_parser("import-statement", help="record the payments of a CAMT.053 bank statement")
    statement.add_argument("file", help="the statement file (XML)")
    statement.set_defaults(handler=cmd_import_statement)
    remind = commands.add_parser("remind", help="send the reminders that are due (run it from cron)")
    remind.add_argument("--now", type=_moment, help="act as if it were this moment (default: now)")
    remind.add_argument("--dry-run", action="store_true", help="show what would go out; send and store nothing")
    remind.set_defaults(handler=cmd_remind)
    kpis = commands.add_parser("kpis", help="write the figures of a period as CSV (definitions: docs/kpis.md)")
    kpis.add_argument("--from", dest="start", type=_date, required=True, help="the first day, included (2026-11-01)")
    kpis.add_argument("--to", dest="end", type=_date, required=True, help="the last day, included (2026-11-30)")
    kpis.add_argument("--csv", type=Path, help="the file to write (default: print to the terminal)")
    kpis.add_argument("--language", choices=SUPPORTED,
                      help="only this language: the customer's for money and reminders, the chat's for chats (default: all)")
    kpis.set_defaults(handler=cmd_kpis)
    review = commands.add_parser("review", help="the designers' conversation review").add_subparsers(
        dest="review_command", required=True)
    export = review.add_parser("export", help="write the marked messages as Rasa NLU training data")
    export.add_argument("--out", type=Path, default=Path("data/nlu/reviewed.yml"),
                        help="the file to write (default data/nlu/reviewed.yml)")
    export.add_argument("--per-language", action="store_true",
                        help="write data/nlu/<language>/reviewed.yml for each language instead")
    export.set_defaults(handler=cmd_review_export)
    commands.add_parser(
        "catch-messages", help="demo only: local stand-ins for the mail server and SMS provider that print what arrives"
    ).set_defaults(handler=cmd_catch_messages)
    bench = commands.add_parser("bench", help="run the benchmarks, print their figures and write var/bench/report.md")
    bench.add_argument("--only", nargs="+", choices=BENCH_PARTS, help="run only these parts (default: all)")
    bench.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/settle_bench"),
                       help="a PostgreSQL database the scale benchmarks may wipe (default: settle_bench on localhost)")
    bench.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
                       help="the Redis the replicas benchmark shares its locks and sockets through")
    bench.add_argument("--invoices", type=int, nargs="+", default=[10_000, 1_000_000], help="database sizes for the scale benchmarks")
    bench.add_argument("--folds", type=int, default=3,
                       help="cross-validation folds for the NLU figures (default 3: each fold is a full training of every pipeline)")
    bench.add_argument("--nlu-test", type=Path, nargs="+",
                       help="also score these Rasa-format NLU files, each on its own (e.g. tests/nlu/held_out.yml "
                            "tests/nlu/held_out_nl.yml tests/nlu/held_out_fr.yml)")
    bench.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 20, 50], help="simulated customers at once")
    bench.add_argument("--seconds", type=float, default=20, help="how long each load level runs (default 20)")
    bench.add_argument("--train", action="store_true", help="also time a full training (about 5 minutes)")
    bench.set_defaults(handler=cmd_bench)
    run = commands.add_parser("run", help="start the web app, the action server and the Rasa server")
    run.add_argument("--shell", action="store_true", help="chat in this terminal instead of serving REST/socket.io")
    run.add_argument("--parts", nargs="+", choices=RUN_PARTS, default=list(RUN_PARTS), help="start only these (default: all)")
    run.add_argument("--web-port", type=int, default=WEB_PORT)
    run.add_argument("--actions-port", type=int, default=ACTIONS_PORT)
    run.add_argument("--rasa-port", type=int, default=RASA_PORT)
    run.add_argument("--replicas", type=int, default=1,
                     help="run this many Rasa servers and action servers behind HAProxy (PostgreSQL and Redis only)")
    run.add_argument("--stop-with-parent", action="store_true",
                     help="also stop when the command that started it ends (make run: make does not pass SIGTERM on)")
    run.set_defaults(handler=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
